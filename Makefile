# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The soundfont renderer, without its one dependency PyAudio (live playback only; needs system PortAudio).
TINYSOUNDFONT := tinysoundfont==0.3.7

.PHONY: demo test install clean perception perception-classic

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

# The shipped perception files, made again from nothing (README: Pretrained perception).
# perception: the stage world's (checkpoints/pretrained/perception-stage.pt, amuse-grounded's), in four
# `amuse pretrain` steps, each continuing the last, on two separate draws of the stage world (seeds 101
# and 102, never the demo's seed 0): the performer detector and the crop network on 400 videos; streams,
# scene heads, the audio head and more crop epochs on them; then streams, audio head and crops on 1,600;
# last the audio head again, beside 18,000 sound-only scenes of seed 103 (engine/audio_draws.py).
PRETRAIN_STAGE := data/pretrain-stage
PRETRAIN_STAGE_BIG := data/pretrain-stage-1600
PERCEPTION := checkpoints/pretrained/perception-stage
perception: $(STAMP)
	$(BIN)/amuse synth --out $(PRETRAIN_STAGE) --world stage --videos 400 --seed 101 --questions-per-video 1 --no-progress
	$(BIN)/amuse synth --out $(PRETRAIN_STAGE_BIG) --world stage --videos 1600 --seed 102 --questions-per-video 1 --no-progress
	$(BIN)/amuse extract-features recipes/amuse-tiny.yaml data.root=$(PRETRAIN_STAGE) --no-progress
	$(BIN)/amuse extract-features recipes/amuse-tiny.yaml data.root=$(PRETRAIN_STAGE_BIG) --no-progress
	$(BIN)/amuse pretrain recipes/amuse-tiny.yaml pretrain.root=$(PRETRAIN_STAGE) pretrain.epochs=0 pretrain.audio_epochs=0 \
		pretrain.detector_epochs=6 pretrain.crop_epochs=6 --out $(PERCEPTION)-1.pt
	$(BIN)/amuse pretrain recipes/amuse-tiny.yaml pretrain.root=$(PRETRAIN_STAGE) pretrain.init=$(PERCEPTION)-1.pt \
		pretrain.epochs=12 pretrain.audio_epochs=16 pretrain.crop_epochs=4 pretrain.performer_lr=3e-3 --out $(PERCEPTION)-2.pt
	$(BIN)/amuse pretrain recipes/amuse-tiny.yaml pretrain.root=$(PRETRAIN_STAGE_BIG) pretrain.init=$(PERCEPTION)-2.pt \
		pretrain.epochs=8 pretrain.audio_epochs=40 pretrain.crop_epochs=4 pretrain.performer_lr=3e-3 --out $(PERCEPTION)-3.pt
	$(BIN)/amuse pretrain recipes/amuse-tiny.yaml pretrain.root=$(PRETRAIN_STAGE_BIG) pretrain.init=$(PERCEPTION)-3.pt \
		pretrain.epochs=0 pretrain.audio_epochs=6 pretrain.lr=1e-3 pretrain.audio_draws=18000 pretrain.audio_draws_seed=103 \
		--out $(PERCEPTION).pt
	rm -f $(PERCEPTION)-1.pt $(PERCEPTION)-2.pt $(PERCEPTION)-3.pt

# perception-classic: the classic world's (checkpoints/pretrained/perception-tiny.pt), for --world classic runs.
PRETRAIN_SET := data/pretrain2k
perception-classic: $(STAMP)
	$(BIN)/amuse synth --out $(PRETRAIN_SET) --world classic --videos 2000 --seed 1 --questions-per-video 1 --no-progress
	$(BIN)/amuse extract-features recipes/amuse-tiny.yaml data.root=$(PRETRAIN_SET) --no-progress
	$(BIN)/amuse pretrain recipes/amuse-tiny.yaml pretrain.root=$(PRETRAIN_SET) pretrain.epochs=16 \
		--out checkpoints/pretrained/perception-tiny.pt

clean:
	rm -rf $(VENV) data/synth cache
