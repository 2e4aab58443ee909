"""Orchestration: sample every scene, write meta and questions, render the mp4s in parallel.

Scenes and questions are made in the parent process from per-video RNGs; workers only render
media from a scene, so the output is identical whatever the number of workers.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from amuse_cli.data.taxonomy import TEMPLATES_RAW, TYPES
from amuse_cli.data.wordings import released_template
from amuse_cli.errors import AmuseError
from amuse_cli.synth.audio import render_audio
from amuse_cli.synth.card import dataset_card, world_lines
from amuse_cli.synth.questions import candidates, select
from amuse_cli.synth.scene import SEGMENT_S, Stream, video_rng
from amuse_cli.synth.wording import check_mix, word_questions, wording_counts
from amuse_cli.synth.settings import SETTINGS
from amuse_cli.synth.sheet import contact_sheet
from amuse_cli.synth.worlds import DEFAULT_WORLD, WORLDS
from amuse_cli.synth.writer import write_json, write_mp4

SPLITS = ("train", "val", "test")


@dataclass
class SynthOptions:
    out: str = "data/synth"
    videos: int = 300
    seconds: float = 12.0
    size: tuple = (320, 240)
    fps: int = 4
    seed: int = 0
    questions_per_video: int = 33   # at most one per template: questions cost nothing to render
    split: tuple = (0.7, 0.1, 0.2)
    balanced: bool = True
    workers: int | None = None
    sample_rate: int = 16000
    world: str = DEFAULT_WORLD    # worlds.WORLDS: "stage" (amuse-synth 3) or "classic" (amuse-synth 2)
    audio: str | None = None      # "synthetic" (timbre.py) or "soundfont[=FILE.sf2]"; None: the world's
    settings: tuple | None = None  # stage world: draw only these settings (settings.SETTINGS); None: all
    wording: str | None = None    # "templates" or "mixed" (synth/wording.py); None: the world's

    @property
    def mix(self) -> str:
        return self.wording or self.world_spec.wording

    @property
    def world_spec(self):
        return WORLDS[self.world]

    def soundfont(self) -> str | None:
        """The .sf2 file to render through (None for the synthetic timbres); fails in one line."""
        kind, _, path = (self.audio or self.world_spec.audio).partition("=")
        if kind == "synthetic" and not path:
            return None
        if kind != "soundfont":
            raise AmuseError(f"--audio {self.audio}: give synthetic, soundfont or soundfont=FILE.sf2")
        from amuse_cli.synth.soundfont import resolve
        return str(resolve(path or None))

    def check(self) -> None:
        w, h = self.size
        if self.world not in WORLDS:
            raise AmuseError(f"--world {self.world}: give one of {', '.join(WORLDS)}")
        unknown = sorted(set(self.settings or ()) - set(SETTINGS))
        problems = [
            (bool(unknown), f"--settings {','.join(unknown)}: unknown; give some of {', '.join(SETTINGS)}"),
            (self.settings is not None and self.world != "stage", f"--settings: only the stage world has settings"),
            (self.videos < 1, f"--videos {self.videos}: give at least 1"),
            (self.seconds < 1 or abs(self.seconds * self.fps - round(self.seconds * self.fps)) > 1e-9,
             f"--seconds {self.seconds} at --fps {self.fps}: needs >= 1 s and a whole number of frames"),
            (self.fps < 1, f"--fps {self.fps}: give at least 1"),
            (w < 64 or h < 64 or w % 2 or h % 2, f"--size {w}x{h}: give even sizes >= 64, e.g. 320x240"),
            (self.questions_per_video < 1, f"--questions-per-video {self.questions_per_video}: give >= 1"),
            (len(self.split) != 3 or min(self.split) < 0 or abs(sum(self.split) - 1) > 1e-6,
             f"--fractions {','.join(map(str, self.split))}: give three fractions summing to 1, e.g. 0.7,0.1,0.2"),
        ]
        for bad, msg in problems:
            if bad:
                raise AmuseError(msg)
        self.soundfont()
        check_mix(self.mix)


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise AmuseError(f"--size {text!r}: write it as WxH, e.g. 320x240") from None
    return w, h


def parse_split(text: str) -> tuple[float, float, float]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise AmuseError(f"--fractions {text!r}: write three fractions, e.g. 0.7,0.1,0.2") from None


def assign_splits(n: int, fractions, seed: int) -> dict[int, str]:
    """Videos -> split; every split with a positive fraction gets at least one video when n allows."""
    counts = [int(round(f * n)) for f in fractions]
    counts[0] = n - counts[1] - counts[2]
    for i in (1, 2):
        if fractions[i] > 0 and counts[i] == 0 and counts[0] > 1:
            counts[i], counts[0] = 1, counts[0] - 1
    order = video_rng(seed, 0, Stream.SPLITS).permutation(n)
    names = [s for s, c in zip(SPLITS, counts) for _ in range(c)]
    return {int(v): names[k] for k, v in enumerate(order)}


def _render(job):
    meta, path, seed, index, soundfont = job
    frames = WORLDS[meta.get("world", "classic")].picture(meta, video_rng(seed, index, Stream.PIXELS))
    audio = render_audio(meta, video_rng(seed, index, Stream.AUDIO), soundfont)
    write_mp4(path, frames, audio, meta["fps"], tuple(meta["size"]), meta["sample_rate"],
              qp=meta.get("encoding", {}).get("qp"))
    return meta["video_id"]


def _records(meta, picks, split_qid):
    out = []
    for t, values, answer in picks:
        text, group, qtype = TEMPLATES_RAW[t]
        out.append({"video_id": meta["video_id"], "question_id": next(split_qid),
                    "type": json.dumps([group, qtype]), "question_content": text,
                    "templ_values": json.dumps(list(values)), "question_deleted": 0, "anser": answer})
    return out


def audio_info(soundfont: str | None) -> dict:
    """What rendered the soundtracks (recorded in the card and the summary)."""
    if soundfont is None:
        return {"renderer": "synthetic", "module": "amuse_cli/synth/timbre.py"}
    from amuse_cli.synth.soundfont import describe
    return {"renderer": "soundfont", **describe(soundfont)}


def plan(opts: SynthOptions) -> tuple[list[dict], dict[str, list[dict]]]:
    """Every scene's ground truth and the question files, without rendering any media."""
    opts.check()
    plan_scene = opts.world_spec.plan
    settings = tuple(opts.settings) if opts.settings else None
    metas = [plan_scene(opts.seed, i, float(opts.seconds), opts.fps, tuple(opts.size), opts.sample_rate, settings)
             for i in range(opts.videos)]
    rngs = [video_rng(opts.seed, i, Stream.QUESTIONS) for i in range(opts.videos)]
    picks = select([candidates(m, r) for m, r in zip(metas, rngs)], opts.questions_per_video,
                   opts.balanced, rngs)
    split_of = assign_splits(opts.videos, opts.split, opts.seed)
    qid = iter(range(10 ** 9))
    files = {s: [] for s in SPLITS}
    for i, (meta, p) in enumerate(zip(metas, picks)):
        meta["split"] = split_of[i]
        words = video_rng(opts.seed, i, Stream.WORDING)
        files[split_of[i]].extend(word_questions(_records(meta, p, qid), split_of[i], opts.mix, words))
    return metas, files


def generate(opts: SynthOptions, progress=None) -> dict:
    """Write the dataset under opts.out; returns the summary (also written into the card)."""
    start = time.time()
    metas, files = plan(opts)
    out = Path(opts.out)
    try:
        for sub in ("videos", "json", "meta"):
            (out / sub).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AmuseError(f"--out {out}: cannot create {out / sub} ({e.strerror}); "
                         f"choose a writable folder") from None
    for meta in metas:
        write_json(out / "meta" / f"{meta['video_id']}.json", meta)
    for s in SPLITS:
        write_json(out / "json" / f"avqa-{s}.json", files[s])
    keep = {f"{m['video_id']}.mp4" for m in metas}
    for stale in (out / "videos").glob("*.mp4"):      # a previous, larger run
        if stale.name not in keep:
            stale.unlink()
    soundfont = opts.soundfont()
    jobs = [(m, out / "videos" / f"{m['video_id']}.mp4", opts.seed, i, soundfont) for i, m in enumerate(metas)]
    workers = max(1, min(opts.workers or os.cpu_count() or 1, len(jobs)))
    if workers == 1:
        for job in jobs:
            _render(job)
            progress and progress()
    else:
        ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with ctx.Pool(workers) as pool:
            for _ in pool.imap_unordered(_render, jobs, chunksize=1):
                progress and progress()
    records = [r for s in SPLITS for r in files[s]]
    by_type = Counter(tuple(json.loads(r["type"])) for r in records)
    summary = {
        "generator": opts.world_spec.generator, "world": opts.world, "options": {**asdict(opts), "out": str(out)},
        "videos": {s: sum(m["split"] == s for m in metas) for s in SPLITS},
        "questions": {s: len(files[s]) for s in SPLITS},
        "types": {f"{g}/{t}": by_type.get((g, t), 0) for g, t in TYPES},
        "templates": len({released_template(r["question_content"]) for r in records}),
        "wording": {"mix": opts.mix, **wording_counts(files)},
        "segments_per_video": int(opts.seconds // SEGMENT_S),
        "seconds": round(time.time() - start, 2), "workers": workers,
        "audio": audio_info(soundfont),
        "world_lines": world_lines(opts, metas),
        "contact_sheet": contact_sheet([j[1] for j in jobs], out / "contact-sheet.png"),
    }
    (out / "README.md").write_text(dataset_card(summary, records), encoding="utf-8")
    return summary
