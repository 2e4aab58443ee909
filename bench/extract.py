"""Benchmark `amuse extract-features` against the classic MUSIC-AVQA pipeline.

(a) the demo set (`amuse synth` defaults: 300 videos of 12 s): videos/s and MB per video of a first
    run, the time of a second run (everything cached), rhythm_agreement and bpm_mae;
(b) 60 s 640x360 clips (`amuse synth --seconds 60 --size 640x360`): amuse's extraction at the
    recipes/amuse.yaml settings and, on the same clips in the same run, the classic pipeline
    (frames written as 1 fps JPEG files and audio as a 16 kHz WAV, then both read back), each in
    one process on one core.

Run: .venv/bin/python bench/extract.py [--videos 300] [--long-videos 4] [--work DIR]
     -> bench/results/extract.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from amuse_cli import config                                    # noqa: E402
from amuse_cli.features import runner                           # noqa: E402

RESULTS = ROOT / "bench" / "results" / "extract.json"
CLASSIC_FPS = 1               # frames per second written as JPEG (ST-AVQA's pipeline)
CLASSIC_RATE = 16000          # Hz, WAV


def synth(out: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "amuse_cli", "synth", "--out", str(out), *args], check=True,
                   cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def extract(data: Path, cache: Path, workers: int) -> tuple[float, dict]:
    cfg = config.load(ROOT / "recipes/amuse.yaml", [f"data.root={data}", f"features.cache={cache}"])
    start = time.perf_counter()
    manifest = runner.run(cfg, workers=workers)
    return time.perf_counter() - start, manifest


def classic_one(video: Path, work: Path) -> int:
    """Classic pipeline for one video: 1 fps JPEGs + WAV written, then read back. Returns bytes written."""
    out = work / video.stem
    out.mkdir(parents=True, exist_ok=True)
    written, next_t, k = 0, 0.0, 0
    jpeg = None
    with av.open(str(video)) as c:
        vs = c.streams.video[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=CLASSIC_RATE)
        pcm = []
        for frame in c.decode(video=0, audio=0) if c.streams.audio else c.decode(video=0):
            if isinstance(frame, av.AudioFrame):
                pcm.extend(r.to_ndarray().reshape(-1) for r in resampler.resample(frame))
                continue
            t = float(frame.pts * vs.time_base)
            if t + 1e-6 < next_t:
                continue
            if jpeg is None:
                jpeg = av.CodecContext.create("mjpeg", "w")
                jpeg.width, jpeg.height, jpeg.pix_fmt = frame.width, frame.height, "yuvj420p"
                jpeg.time_base = vs.time_base
            img = frame.reformat(format="yuvj420p")
            data = b"".join(bytes(p) for p in jpeg.encode(img))
            (out / f"{k:06d}.jpg").write_bytes(data)
            written += len(data)
            k += 1
            next_t += 1.0 / CLASSIC_FPS
    wav = out / "audio.wav"
    samples = np.concatenate(pcm) if pcm else np.zeros(0, np.int16)
    with av.open(str(wav), "w") as w:
        s = w.add_stream("pcm_s16le", rate=CLASSIC_RATE, layout="mono")
        for i in range(0, len(samples), 4096):
            chunk = np.ascontiguousarray(samples[None, i:i + 4096])
            fr = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            fr.sample_rate, fr.pts = CLASSIC_RATE, i
            for p in s.encode(fr):
                w.mux(p)
        for p in s.encode():
            w.mux(p)
    written += wav.stat().st_size
    # read back, as the feature extractor of the classic pipeline does
    frames = []
    for jpg in sorted(out.glob("*.jpg")):
        with av.open(str(jpg)) as c:
            frames.append(next(c.decode(video=0)).to_ndarray(format="rgb24"))
    with av.open(str(wav)) as c:
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    assert frames and len(audio) == len(samples)
    return written


def per_video_times(data: Path, videos: list[Path], work: Path, repeats: int) -> tuple[list, list]:
    """Best-of-`repeats` seconds per video for amuse's extraction and the classic pipeline, the two
    alternating so that load from other processes hits both alike."""
    import torch

    from amuse_cli.features.runner import _meta_path, extract_one
    from amuse_cli.features.videos import VideoSource
    cfg = config.load(ROOT / "recipes/amuse.yaml", [f"data.root={data}", f"features.cache={work / 'cache-t'}"])
    settings = config_settings(cfg)
    torch.set_num_threads(1)
    extract_one((VideoSource(videos[0]), videos[0].stem, settings, _meta_path(cfg, videos[0].stem), str(work / "cache-t")))
    classic_one(videos[0], work / "classic-warm")                 # warm both (imports, kernels)
    ours, old = [float("inf")] * len(videos), [float("inf")] * len(videos)
    for _ in range(repeats):
        for i, v in enumerate(videos):
            t = time.perf_counter()
            vid, rec = extract_one((VideoSource(v), v.stem, settings, _meta_path(cfg, v.stem), str(work / "cache-t")))
            ours[i] = min(ours[i], time.perf_counter() - t)
            assert rec["status"] == "ok", rec
            shutil.rmtree(work / "classic" / v.stem, ignore_errors=True)
            t = time.perf_counter()
            classic_one(v, work / "classic")
            old[i] = min(old[i], time.perf_counter() - t)
    return ours, old


def config_settings(cfg: dict) -> dict:
    from amuse_cli.features.settings import extraction_settings
    return extraction_settings(cfg)


def classic_bytes(work: Path) -> int:
    return sum(p.stat().st_size for p in (work / "classic").rglob("*") if p.is_file())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=300, help="demo-set size (amuse synth default 300)")
    ap.add_argument("--long-videos", type=int, default=4, help="60 s 640x360 clips")
    ap.add_argument("--repeats", type=int, default=3, help="timings per long video (best is kept)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for the demo set")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="amuse-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    result = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "load_avg_1m_at_start": round(os.getloadavg()[0], 2)},
              "command": " ".join([".venv/bin/python", "bench/extract.py"] + sys.argv[1:])}

    demo = work / "demo"
    if not (demo / "videos").is_dir():
        synth(demo, "--videos", str(args.videos), "--seed", "0")
    shutil.rmtree(work / "cache-demo", ignore_errors=True)
    first, manifest = extract(demo, work / "cache-demo", args.workers)
    second, _ = extract(demo, work / "cache-demo", args.workers)
    s = manifest["summary"]
    result["demo"] = {"videos": s["videos"], "workers": args.workers, "first_run_s": round(first, 2),
                      "videos_per_s": round(s["videos"] / first, 2), "mb_per_video": s["mb_per_video"],
                      "second_run_s": round(second, 2), "second_over_first": round(second / first, 3),
                      "rhythm_agreement": s.get("rhythm_agreement"), "bpm_mae": s.get("bpm_mae"),
                      "videos_failed": s["videos_failed"]}
    print(json.dumps(result["demo"]), flush=True)

    long = work / "long60"
    if not (long / "videos").is_dir():
        synth(long, "--videos", str(args.long_videos), "--seconds", "60", "--size", "640x360", "--seed", "1")
    videos = sorted((long / "videos").glob("*.mp4"))
    shutil.rmtree(work / "cache-long", ignore_errors=True)
    _, manifest = extract(long, work / "cache-long", 1)          # sizes and agreement of the real run
    ours, old = per_video_times(long, videos, work, args.repeats)
    s = manifest["summary"]
    result["long60_640x360"] = {
        "videos": len(videos), "workers": 1,
        "timing": f"one process, torch on one thread, each video timed {args.repeats}x alternating "
                  f"with the classic pipeline, best of {args.repeats} per video (the machine is shared)",
        "amuse_s_per_video": round(sum(ours) / len(videos), 4),
        "amuse_videos_per_s": round(len(videos) / sum(ours), 3), "amuse_mb_per_video": s["mb_per_video"],
        "classic_s_per_video": round(sum(old) / len(videos), 4),
        "classic_videos_per_s": round(len(videos) / sum(old), 3),
        "classic_mb_per_video": round(classic_bytes(work) / len(videos) / 1e6, 3),
        "speedup_vs_classic": round(sum(old) / sum(ours), 2),
        "rhythm_agreement": s.get("rhythm_agreement"), "bpm_mae": s.get("bpm_mae")}
    print(json.dumps(result["long60_640x360"]), flush=True)
    result["goals"] = {"speedup_vs_classic>=3": result["long60_640x360"]["speedup_vs_classic"] >= 3,
                       "mb_per_60s_video<=2.4": s["mb_per_video"] <= 2.4,
                       "second_run<first/5": result["demo"]["second_over_first"] < 0.2,
                       "rhythm_agreement>=0.8": (result["demo"]["rhythm_agreement"] or 0) >= 0.8}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
