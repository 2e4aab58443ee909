#!/usr/bin/env bash
# Every GPU check in one run, for a lent CUDA machine (one prepared script: device time is scarce).
#   bash bench/gpu.sh            # OUT=<folder> for the logs and JSON (default bench/results/gpu)
# A machine without PyAV/librosa gets them from cp312 wheels in .whl/: av librosa audioread decorator pooch
# soundfile soxr platformdirs cffi pycparser (`pip download --no-deps --only-binary=:all: ...`).
# Writes: bench.log (card, GPU tests, training throughput), train-cuda.json (bench/train.py rows),
# e2e.log + metrics (recipes/amuse.yaml trained and evaluated end to end in bf16 on a small synth set).
set -uo pipefail
OUT=${OUT:-bench/results/gpu}  # recorded run (H200, 2026-11-26): bench/results/gpu/
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH="/tmp/site:$PYTHONPATH"
fi
{ nvidia-smi -L; python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
  python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py
  python3 bench/train.py --device cuda --out "$OUT/train-cuda.json"; } 2>&1 | tee "$OUT/bench.log"
W=/tmp/amuse-gpu; rm -rf "$W"
D=(data.root=$W/synth features.cache=$W/cache)
{ python3 -m amuse_cli synth --out $W/synth --videos 60 --seconds 6 --seed 5 --workers 8 \
  && python3 -m amuse_cli extract-features recipes/amuse.yaml "${D[@]}" --no-progress \
  && python3 -m amuse_cli train recipes/amuse.yaml "${D[@]}" train.epochs=3 stage1.epochs=2 --run-name gpu-e2e \
       --overwrite --no-progress \
  && python3 -m amuse_cli eval checkpoints/amuse/gpu-e2e --split test \
  && cp checkpoints/amuse/gpu-e2e/metrics.jsonl checkpoints/amuse/gpu-e2e/metrics-test.json "$OUT/"; } \
  2>&1 | tee "$OUT/e2e.log"
