"""More sound for the audio head: scenes of the pretraining set's world drawn and rendered as audio only.

Which of 22 timbres sound in a mixture is the part of perception that data limits: on the stage
world the audio head fitted on 1,440 videos reaches heard F1 0.78 on its own training videos and
0.62 on held-out ones; 6,000 more scenes lift the held-out F1 to 0.675, 18,000 to 0.710
(bench/results/audio-draws.json). Rendering the picture and encoding an mp4 is most of `amuse
synth`'s cost; the soundtrack alone takes about 0.14 s per 12 s scene. So `pretrain.audio_draws`
scenes are planned with the set's own generator (world, duration, frame rate, size and sample rate
read from its meta files), from a seed of their own, rendered through the world's renderer, and cut
into log-mel windows at the frames media.decode would keep, beside their scene truth. Nothing is
written but one cache file under features.cache, so a second run (or `make perception` again)
reuses the draws.

The mp4's AAC round trip is the one difference from an extracted video; the held-out F1 is measured
on extracted videos of the pretraining set, never on draws. The draws sound through the world's one
font (TimGM6mb), so they also teach its samples: bench/shift.py's other-font row went from 4.15 to
7.16 points below the training font's.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import sys
from pathlib import Path

import numpy as np
import torch

from amuse_cli.atomic import atomic_path
from amuse_cli.errors import AmuseError
from amuse_cli.features import logmel
from amuse_cli.features.settings import extraction_settings, settings_hash, window_hops
from amuse_cli.features.truth import first_meta, scene_truth
from amuse_cli.media import sample_times

CHUNK = 250          # scenes per worker job


def draw_spec(cfg: dict) -> dict:
    """What decides the draws: the generator's scene options (from the pretraining set), their seed and
    count, the extraction settings; the cache file's name is a hash of it."""
    pc = cfg["pretrain"]
    if pc.get("audio_draws_seed") is None:
        raise AmuseError("pretrain.audio_draws needs pretrain.audio_draws_seed: a seed no benchmark or "
                         "pretraining set of yours uses (make perception: 103)")
    meta_dir = Path(pc["root"]) / cfg["data"]["meta"]
    meta = first_meta(meta_dir)
    if meta is None:
        raise AmuseError(f"pretrain.audio_draws needs the pretraining set's meta files in {meta_dir}; "
                         f"make the set with `amuse synth --out {pc['root']}`")
    return {"world": meta.get("world", "classic"), "generator": meta.get("generator"),
            "seconds": float(meta["duration"]), "fps": meta["fps"], "size": list(meta["size"]),
            "sample_rate": meta["sample_rate"], "seed": int(pc["audio_draws_seed"]),
            "count": int(pc["audio_draws"]), "frames": int(cfg["features"]["frames"]),
            "columns": int(pc["columns"]), "window_s": float(cfg["features"]["audio_window_s"]),
            "features": settings_hash(extraction_settings(cfg))}


def frame_times(times: np.ndarray, meta: dict) -> np.ndarray:
    """The times of the frames media.decode keeps for sampled `times`: the nearest frame of the video's
    grid, a tie going to the later one, never past the last frame (the windows are centred on them)."""
    fps = meta["fps"]
    last = max(0, int(round(meta["duration"] * fps)) - 1)
    return np.minimum(np.floor(times * fps + 0.5), last) / fps


def _draw(job) -> dict[str, np.ndarray]:
    """Scenes [start, stop) of the spec: log-mel windows, frame mask, class truth and global truth."""
    spec, settings, start, stop = job
    from amuse_cli.synth.audio import render_audio
    from amuse_cli.synth.generate import SynthOptions, Stream, video_rng
    from amuse_cli.synth.worlds import WORLDS
    world = WORLDS[spec["world"]]
    soundfont = SynthOptions(out="unused", world=spec["world"]).soundfont()
    out = {"logmel": [], "frame_mask": [], "classes": [], "glob": []}
    for i in range(start, stop):
        meta = world.plan(spec["seed"], i, spec["seconds"], spec["fps"], tuple(spec["size"]), spec["sample_rate"], None)
        audio = render_audio(meta, video_rng(spec["seed"], i, Stream.AUDIO), soundfont)
        times = sample_times(meta["duration"], spec["frames"])
        out["logmel"].append(logmel.windows_at(audio, frame_times(times, meta), settings,
                                               window_hops(settings)).astype(np.float16))
        out["frame_mask"].append(times < meta["duration"])
        truth = scene_truth(meta, spec["frames"], spec["columns"], spec["window_s"])
        out["classes"].append(truth["classes"])
        out["glob"].append(truth["glob"])
    return {k: np.stack(v) for k, v in out.items()}


def audio_draws(cfg: dict, progress: bool = True) -> dict[str, torch.Tensor] | None:
    """The draws of cfg's `pretrain.audio_draws` (None when 0): logmel [N, T, M, A] float16, frame_mask,
    classes, glob; read from features.cache when an earlier run made them."""
    if not cfg["pretrain"].get("audio_draws"):
        return None
    spec = draw_spec(cfg)
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:8]
    path = Path(cfg["features"]["cache"]) / f"audio-draws-{spec['world']}-{spec['seed']}-{spec['count']}-{key}.pt"
    if path.is_file():
        if progress:
            print(f"audio draws: {spec['count']} scenes read from {path}", flush=True)
        return torch.load(path, map_location="cpu", weights_only=True)["arrays"]
    settings = dict(cfg["features"])
    jobs = [(spec, settings, s, min(s + CHUNK, spec["count"])) for s in range(0, spec["count"], CHUNK)]
    workers = max(1, min(os.cpu_count() or 1, len(jobs)))
    if progress:
        print(f"audio draws: rendering {spec['count']} {spec['world']} scenes of seed {spec['seed']} "
              f"(sound only, {workers} workers)", flush=True)
    if workers == 1:
        parts = [_draw(j) for j in jobs]
    else:
        ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with ctx.Pool(workers) as pool:
            parts = pool.map(_draw, jobs, chunksize=1)
    arrays = {k: torch.from_numpy(np.concatenate([p[k] for p in parts])) for k in parts[0]}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save({"spec": spec, "arrays": arrays}, f)
    return arrays
