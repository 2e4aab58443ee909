"""Throughput and memory of the source tagger (features/sources.py) at the real Cnn14 width.

The model has random weights at the release size (width 64, 64 mel bins, 527 classes: 80.8 M
parameters, the size of Cnn14_16k): speed and memory do not depend on the values, so nothing is
downloaded. A "video" is 60 s of noise at 16 kHz, i.e. 20 segments of 3 s as `amuse extract-features`
labels it. Measured per device (CPU with 1 thread, CPU with every thread, CUDA when present) and per
batch: one segment per forward pass, one video (its 20 segments) per pass, several videos per pass
(TaggerLabeler.label_videos). Reported: segments/s and seconds per 60 s video.

Also checked: the probabilities of a one-video pass equal those of its segments one at a time (max
abs difference), and on CUDA those of the CPU; and one worker's memory (a fresh process that loads
the memory-mapped weights and tags one video) beside sources.tagger_worker_bytes' estimate.

Run: .venv/bin/python bench/tagger.py [--videos-per-pass 4] -> bench/results/tagger.json
     (75 s on 2 busy CPU cores; CPU timings share the cores with whatever else runs)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from amuse_cli.atomic import write_atomic          # noqa: E402
from amuse_cli.features import rhythm, sources     # noqa: E402

RESULTS = ROOT / "bench" / "results" / "tagger.json"
SR = 16000
VIDEO_S, SEGMENT_S, SEGMENTS = 60.0, 3.0, 20
REPS = {"cpu": {"segment": 4, "video": 2, "videos": 1}, "cuda": {"segment": 20, "video": 20, "videos": 10}}

WORKER_PROBE = """
import json, sys, numpy as np, torch
torch.set_num_threads(1)
from amuse_cli.features import rhythm, sources
def status():  # VmHWM, not ru_maxrss: that one keeps the parent's peak across fork and exec
    return {l.split(':')[0]: int(l.split()[1]) >> 10 for l in open('/proc/self/status')
            if l.startswith(('VmRSS', 'VmHWM', 'RssAnon', 'RssFile'))}
before = status()
tagger = sources.TaggerLabeler(sources.load_cnn14(sys.argv[1]), 0.2)
bounds, mask = rhythm.segment_bounds(60.0, 3.0, 20)
tagger(np.random.default_rng(0).standard_normal(960000).astype(np.float32) * 0.1, 16000, bounds, mask)
print(json.dumps({"before_tagger_mib": before, "after_one_video_mib": status()}))
"""


def release_size_weights(folder: Path) -> Path:
    """A checkpoint of the release's size and layout, random values."""
    torch.manual_seed(0)
    path = folder / "cnn14_random_width64.pth"
    torch.save({"model": sources.Cnn14(width=64).state_dict()}, path)
    return path


def a_video(seed: int = 0) -> tuple:
    audio = (0.1 * np.random.default_rng(seed).standard_normal(int(VIDEO_S * SR))).astype(np.float32)
    return (audio, SR, *rhythm.segment_bounds(VIDEO_S, SEGMENT_S, SEGMENTS))


def one_segment(video: tuple) -> tuple:
    audio, rate, bounds, mask = video
    return audio, rate, bounds[:1], mask[:1]


def seconds_per_pass(tagger: sources.TaggerLabeler, videos: list, reps: int) -> float:
    tagger.label_videos(videos)                    # warm-up: kernels, allocator, cuDNN plans
    sync = torch.cuda.synchronize if tagger.device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(reps):
        tagger.label_videos(videos)
    sync()
    return (time.perf_counter() - start) / reps


def throughput(tagger: sources.TaggerLabeler, video: tuple, videos_per_pass: int) -> dict:
    reps = REPS[tagger.device.type]
    batches = {"segment": ([one_segment(video)], 1), "video": ([video], SEGMENTS),
               "videos": ([video] * videos_per_pass, SEGMENTS * videos_per_pass)}
    out = {}
    for name, (videos, segments) in batches.items():
        seconds = seconds_per_pass(tagger, videos, reps[name])
        out[f"batch_{name}"] = {"segments_per_pass": segments, "passes_timed": reps[name],
                                "segments_per_s": round(segments / seconds, 2),
                                "seconds_per_60s_video": round(SEGMENTS * seconds / segments, 4)}
    return out


def batched_vs_per_segment(tagger: sources.TaggerLabeler, video: tuple) -> dict:
    audio, rate, bounds, mask = video
    batch = tagger.segment_batch(audio, rate, bounds[mask])
    together = tagger.forward(batch)
    alone = torch.cat([tagger.forward(batch[i:i + 1]) for i in range(len(batch))])
    return {"max_abs_diff_probabilities": float((together - alone).abs().max()),
            "labels_equal": bool(np.array_equal(tagger.labels(together)[0], tagger.labels(alone)[0]))}


def cuda_vs_cpu(cpu: sources.TaggerLabeler, gpu: sources.TaggerLabeler, video: tuple) -> dict:
    audio, rate, bounds, mask = video
    on_cpu = cpu.probabilities(audio, rate, bounds[mask])
    on_gpu = gpu.probabilities(audio, rate, bounds[mask])
    return {"max_abs_diff_probabilities": float((on_cpu - on_gpu).abs().max()),
            "counts_equal": bool(np.array_equal(cpu.labels(on_cpu)[0], gpu.labels(on_gpu)[0]))}


def worker_memory(weights: Path) -> dict:
    """One worker's memory, measured in a fresh process, beside the estimate max_tagger_workers uses."""
    probe = subprocess.run([sys.executable, "-c", WORKER_PROBE, str(weights)], cwd=ROOT, check=True,
                           capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    estimate = sources.tagger_worker_bytes(weights)
    return {"measured": json.loads(probe.stdout.strip().splitlines()[-1]),
            "estimate_mib": {k: v >> 20 for k, v in estimate.items()},
            "mem_available_mib": sources.available_memory_bytes() >> 20,
            "max_tagger_workers_here": sources.max_tagger_workers(weights)}


def machine() -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos-per-pass", type=int, default=4, help="videos per pass on the CPU (x4 on CUDA)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    start = time.perf_counter()
    video = a_video()
    result = {"command": " ".join(["bench/tagger.py"] + sys.argv[1:]), "machine": machine(),
              "video": {"seconds": VIDEO_S, "segments": SEGMENTS, "segment_seconds": SEGMENT_S}}
    with tempfile.TemporaryDirectory() as tmp:
        weights = release_size_weights(Path(tmp))
        result["weights_mib"] = weights.stat().st_size >> 20
        cpu = sources.TaggerLabeler(sources.load_cnn14(weights), threshold=0.2)
        all_threads = torch.get_num_threads()
        for threads in sorted({1, all_threads}):
            torch.set_num_threads(threads)
            name = f"cpu_{threads}_thread{'s' * (threads > 1)}"
            result[name] = throughput(cpu, video, args.videos_per_pass)
        result["batched_vs_per_segment_cpu"] = batched_vs_per_segment(cpu, video)
        if torch.cuda.is_available():
            gpu = sources.TaggerLabeler(sources.load_cnn14(weights, "cuda"), threshold=0.2)
            result["cuda"] = throughput(gpu, video, 4 * args.videos_per_pass)
            result["batched_vs_per_segment_cuda"] = batched_vs_per_segment(gpu, video)
            result["cuda_vs_cpu"] = cuda_vs_cpu(cpu, gpu, video)
        result["worker_memory"] = worker_memory(weights)
    result["seconds"] = round(time.perf_counter() - start, 1)
    write_atomic(args.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
