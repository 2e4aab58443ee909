"""Extraction of real-format MUSIC-AVQA stand-ins, as docs/real-data.md runs it (with the source
tagger, or `features.source_method=none`).

Stand-ins have the real videos' format (60 s, 25 fps, 640x360 H.264, stereo AAC at 44.1 kHz) and
real video ids (../shared/data/music-avqa/ when present, else the excerpt under tests/data) split
over the two official folder names; the tagger has the release's size (Cnn14 width 64, random
weights: timing and memory do not depend on the values). `--variants` stand-ins of different
content (texture, motion, tone) are encoded and linked round-robin under the ids. Runs `amuse
extract-features recipes/music-avqa.yaml` verbatim with the guide's overrides, timing the whole
run, reading each video's own extraction time from the manifest (median and range), polling the
memory of the process tree (parent and workers together: PSS, shared pages counted once, and RSS),
and writes a JSON file with the estimate for the whole MUSIC-AVQA (9,288 videos).

    python bench/real_extract.py                      # tagger, 100 videos, --workers 2 -> real_extract.json
    python bench/real_extract.py --source-method none --workers 1 --videos 40 --out bench/results/real_extract_none.json
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "real_extract.json"
ANNOTATIONS = [ROOT.parent / "shared" / "data" / "music-avqa", ROOT / "tests" / "data" / "music-avqa-v1"]
MUSIC_AVQA_VIDEOS = 9288
SECONDS, FPS, SIZE, RATE = 60.0, 25, (640, 360), 44100


def stand_in(path: Path, seed: int = 0) -> None:
    """A 60 s clip in the real videos' format: moving blocks and a stereo tone pattern with onsets;
    the seed sets the texture, its block size and speed, and the tone."""
    rng = np.random.default_rng(seed)
    block, speed = (8, 16, 4)[seed % 3], 1 + seed % 4
    w, h = SIZE
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        as_ = c.add_stream("aac", rate=RATE, layout="stereo")
        base = rng.integers(0, 255, (h // block, w // block, 3), dtype=np.uint8)
        for k in range(int(SECONDS * FPS)):
            img = np.repeat(np.repeat(np.roll(base, k * speed, axis=1), block, 0), block, 1)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for p in vs.encode(frame):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        t = np.arange(int(SECONDS * RATE)) / RATE
        beat = (t * 2.0) % 1.0                                        # 120 BPM attacks
        tone = 0.2 * np.sin(2 * np.pi * (330 + 110 * seed) * t) * np.exp(-6 * beat)
        audio = np.stack([tone, 0.7 * tone]).astype(np.float32)
        step = 1024
        for i in range(0, audio.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, i:i + step]), format="fltp",
                                               layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = RATE, i, Fraction(1, RATE)
            for p in as_.encode(frame):
                c.mux(p)
        for p in as_.encode():
            c.mux(p)


def real_ids(n: int) -> list[str]:
    """The first n video ids of the real annotation files (the full ones when present)."""
    folder = next(f for f in ANNOTATIONS if f.is_dir())
    seen: dict[str, None] = {}
    for name in ("avqa-test.json", "avqa-val.json", "avqa-train_fake.json"):
        for r in json.loads((folder / name).read_text()):
            seen.setdefault(str(r["video_id"]), None)
            if len(seen) == n:
                return list(seen)
    sys.exit(f"only {len(seen)} video ids in {folder}; ask for fewer --videos")


def dataset(work: Path, n: int, variants: int) -> Path:
    root = work / "MUSIC-AVQA"
    shutil.rmtree(root, ignore_errors=True)
    clips = [work / f"stand-in-{k}.mp4" for k in range(variants)]
    for k, clip in enumerate(clips):
        if not clip.is_file():
            stand_in(clip, seed=k)
    folders = ("MUSIC-AVQA-videos-Real", "MUCIS-AVQA-videos-Synthetic")
    for f in folders:
        (root / f).mkdir(parents=True)
    for i, vid in enumerate(real_ids(n)):
        os.link(clips[i % variants], root / folders[i % 2] / f"{vid}.mp4")   # a few files' bytes, many names
    return root


def spread(x: np.ndarray) -> dict:
    """Median, min, 90th percentile and max of per-video seconds."""
    return {"median": round(float(np.median(x)), 3), "min": round(float(x.min()), 3),
            "p90": round(float(np.percentile(x, 90)), 3), "max": round(float(x.max()), 3)}


def tree_memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of pid and all its descendants (MB), from /proc. RSS counts pages the processes
    share (the memory-mapped tagger weights, libraries) once per process; PSS splits them, so its
    sum is the memory the run really holds."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    rss = pss = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) / 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) / 1024
        except OSError:
            pass
    return rss, pss


def run(cmd: list[str], env: dict) -> tuple[float, list[float], str]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0.0, 0.0]

    def poll():
        while proc.poll() is None:
            rss, pss = tree_memory_mb(proc.pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            time.sleep(0.2)
    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    out = proc.communicate()[0]
    watcher.join()
    if proc.returncode != 0:
        sys.exit(f"extract-features failed:\n{out[-2000:]}")
    return time.perf_counter() - start, peak, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--source-method", choices=("tagger", "none"), default="tagger")
    ap.add_argument("--variants", type=int, default=4, help="stand-ins of different content")
    ap.add_argument("--work", default="/tmp/amuse-real-extract")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    import torch

    from amuse_cli.features import sources
    weights = work / "cnn14_random_width64.pth"
    if not weights.is_file():
        torch.save({"model": sources.Cnn14(width=64).state_dict()}, weights)
    root = dataset(work, args.videos, args.variants)
    shutil.rmtree(work / "cache", ignore_errors=True)
    labels = [f"features.tagger_weights={weights}"] if args.source_method == "tagger" else \
        ["features.source_method=none"]
    cmd = [sys.executable, "-m", "amuse_cli", "extract-features", "recipes/music-avqa.yaml", f"data.root={root}",
           *labels, f"features.cache={work / 'cache'}", "--workers", str(args.workers), "--no-progress"]
    seconds, (peak_rss, peak_pss), log = run(cmd, {**os.environ, "OMP_NUM_THREADS": "1"})
    manifest = json.loads(next((work / "cache").glob("MUSIC-AVQA-*/manifest.json")).read_text())
    ok = manifest["summary"]["videos_ok"]
    per_video = seconds / max(ok, 1)
    done = [r for r in manifest["videos"].values() if r.get("status") == "ok"]
    each = np.array([r["seconds"] for r in done])
    cpu = np.array([r["cpu_seconds"] for r in done])     # the worker's CPU time: what a core spends per video
    what = "tagger at release size" if args.source_method == "tagger" else "features.source_method=none"
    result = {
        "what": f"amuse extract-features recipes/music-avqa.yaml ({what}) on real-format stand-ins: 60 s, 25 fps, "
                f"640x360 H.264, stereo AAC 44.1 kHz, real ids, official folder names, {args.variants} contents",
        "machine": {"cpus": os.cpu_count(), "torch_threads_per_worker": 1, "cuda": torch.cuda.is_available(),
                    "load_avg_1min_at_end": round(os.getloadavg()[0], 2)},
        "source_method": args.source_method, "videos": args.videos, "videos_ok": ok, "workers": args.workers,
        "wall_s": round(seconds, 1), "s_per_video": round(per_video, 3),
        "core_s_per_video": round(per_video * args.workers, 3),
        "per_video_extract_s": spread(each),
        "per_video_cpu_s": spread(cpu),
        "estimate_music_avqa_hours_from_cpu_s": {f"{w} workers": round(MUSIC_AVQA_VIDEOS * float(np.median(cpu)) / w
                                                                       / 3600, 2) for w in (1, 2, 8, 16)},
        "peak_pss_gb_all_processes": round(peak_pss / 1024, 3),
        "peak_rss_gb_all_processes": round(peak_rss / 1024, 3),
        "mb_per_video_cache": manifest["summary"]["mb_per_video"],
        "estimate_music_avqa_hours": {f"{w} workers": round(MUSIC_AVQA_VIDEOS * per_video * args.workers / w / 3600, 2)
                                      for w in (2, 8, 16)},
        "command": " ".join(cmd[1:]),
        "bench_command": " ".join(["python", "bench/real_extract.py", *sys.argv[1:]]),
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
