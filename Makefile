# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The soundfont renderer, without its one dependency PyAudio (live playback only; needs system PortAudio).
TINYSOUNDFONT := tinysoundfont==0.3.7

.PHONY: demo test install clean perception

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when pyproject.toml or constraints.txt changes. torch, torchvision and torchaudio come
# in this one pip command (ranges in pyproject.toml, the tested triple pinned by constraints.txt), so pip
# cannot mix builds.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	$(BIN)/pip install -q --no-deps $(TINYSOUNDFONT)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m amuse_cli.demo

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

# The shipped perception file (checkpoints/pretrained/perception-tiny.pt), made again from nothing:
# a pretraining set of other seeds, its cache, `amuse pretrain` (README: Pretrained perception).
PRETRAIN_SET := data/pretrain2k
perception: $(STAMP)
	$(BIN)/amuse synth --out $(PRETRAIN_SET) --videos 2000 --seed 1 --questions-per-video 1 --no-progress
	$(BIN)/amuse extract-features recipes/amuse-tiny.yaml data.root=$(PRETRAIN_SET) --no-progress
	$(BIN)/amuse pretrain recipes/amuse-tiny.yaml pretrain.root=$(PRETRAIN_SET) pretrain.epochs=16 \
		--out checkpoints/pretrained/perception-tiny.pt

clean:
	rm -rf $(VENV) data/synth cache
