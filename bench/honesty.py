"""Does the benchmark need its modalities? Each run answers its test split three times: as is, with
every test video's audio swapped for another test video's (frames untouched), and with every test
video's frames swapped (audio untouched); both swaps follow one fixed derangement (nobody keeps its own).

A model that answers Audio-Visual questions from the picture alone, or from the question alone,
loses nothing when the audio is swapped; one that binds sound to scene drops. Visual questions
(how many performers, where) must drop when the frames come from another video; a model that
guessed them from the sound or the words would not. Runs of audio_only / visual_only / prior
(bench/baselines.py) show the other side: what each modality alone gets per question type.

The swap happens in the cached arrays every model reads (a cache view under the dataset), so a
frozen perception that computes its scene once per video (engine/datasets.py with_scenes) computes
it from the swapped arrays.

    python bench/honesty.py checkpoints/amuse-grounded/demo
    python bench/honesty.py checkpoints/amuse-grounded/demo checkpoints/*/bench --out /tmp/h.json
    python bench/honesty.py -C /tmp/amuse-shift /tmp/amuse-shift/checkpoints/amuse-grounded/shift-s0
Writes bench/results/honesty.json: per run the 13 cells of each answering, the questions per cell and
the drops per group (`drop`: audio swapped, as before; `frames_drop`: frames swapped), beside issue 22's
figures (frames swapped: V-Avg drops >= 40 points; audio swapped: AV-Avg drops >= 20).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from amuse_cli.atomic import write_atomic  # noqa: E402
from amuse_cli.data.taxonomy import ANSWERS  # noqa: E402
from amuse_cli import distributed  # noqa: E402
from amuse_cli.engine import datasets  # noqa: E402
from amuse_cli.errors import AmuseError  # noqa: E402
from amuse_cli.features.lookup import open_cache  # noqa: E402
from amuse_cli.engine.evaluate import build_model, load_checkpointed_run, predict_dataset  # noqa: E402
from amuse_cli.data.metrics import accuracy_cells  # noqa: E402

AUDIO_KEYS = ("logmel",)
FRAME_KEYS = ("frames",)   # frame_mask stays: it marks the clip's own length, which its log-mels share
SWAPS = {"audio_swapped": AUDIO_KEYS, "frames_swapped": FRAME_KEYS}
GROUP_COLUMNS = ("A-Avg", "V-Avg", "AV-Avg", "Avg")
# issue 22: the smallest drop (points) each swap must cause in its group
FIGURES = {"frames_swapped": ("V-Avg", 40.0), "audio_swapped": ("AV-Avg", 20.0)}


class Swapped:
    """A feature cache whose videos carry another video's arrays named in `keys` (the rest their own)."""

    def __init__(self, cache, partner: dict[str, str], keys: tuple[str, ...]):
        self.cache, self.partner, self.keys = cache, partner, keys

    def __getattr__(self, name):
        return getattr(self.cache, name)

    def __contains__(self, video_id) -> bool:
        return video_id in self.cache

    def arrays(self, video_id: str) -> dict:
        own = dict(self.cache.arrays(video_id))
        other = self.cache.arrays(self.partner[video_id])
        own.update({k: other[k] for k in self.keys})
        return own


def derangement(ids: list[str], seed: int) -> dict[str, str]:
    """Each video paired with another one (a shifted shuffle: nobody keeps its own arrays)."""
    order = sorted(set(ids))
    if len(order) < 2:
        raise AmuseError(f"swapping needs at least 2 videos in the split, got {len(order)}")
    random.Random(seed).shuffle(order)
    return {v: order[(i + 1) % len(order)] for i, v in enumerate(order)}


def answer_three_ways(run: Path, split: str, seed: int, device: str = "cpu") -> dict[str, dict]:
    """{"normal" | "audio_swapped" | "frames_swapped": the 13 cells} of the run's val-selected model."""
    cfg, vocab, state, ckpt = load_checkpointed_run(run)
    ctx = distributed.setup(device)
    cache = open_cache(cfg)
    records = datasets.load_split(cfg, split)
    partner = derangement([v for r in records for v in r.videos], seed)
    model = build_model(cfg, datasets.spec(cfg, cache.shapes, vocab), state, ctx.device, ckpt)
    out = {}
    for name, keys in (("normal", ()), *SWAPS.items()):
        view = Swapped(cache, partner, keys) if keys else cache
        ds = datasets.dataset(cfg, records, view, vocab)
        preds = predict_dataset(model, datasets.with_scenes(ds, model, ctx.device), cfg, ctx)
        out[name] = accuracy_cells((r.group, r.qtype, i in preds and ANSWERS[preds[i][0][0]] == r.answer)
                                   for i, r in enumerate(records))
    return out


def drops(normal: dict, swapped: dict) -> dict[str, float]:
    """Points lost per group column (positive: worse when swapped); columns without questions left out."""
    return {k: round(normal[k]["acc"] - swapped[k]["acc"], 2) for k in GROUP_COLUMNS if normal[k]["acc"] is not None}


def row(cells: dict[str, dict]) -> dict:
    """One run's entry of honesty.json: the accuracies, the question counts, the drops and the figures."""
    entry = {name: {k: c["acc"] for k, c in cells[name].items()} for name in ("normal", *SWAPS)}
    entry["questions"] = {k: c["n"] for k, c in cells["normal"].items()}
    entry["drop"] = drops(cells["normal"], cells["audio_swapped"])          # the key earlier files had
    entry["frames_drop"] = drops(cells["normal"], cells["frames_swapped"])
    entry["figures"] = {}
    for swap, (column, least) in FIGURES.items():
        got = entry["drop" if swap == "audio_swapped" else "frames_drop"].get(column)
        entry["figures"][swap] = {"column": column, "drop": got, "goal": f">= {least:g}",
                                  "met": None if got is None else got >= least}
    return entry


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="run folders (checkpoints/<recipe>/<run>)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--seed", type=int, default=0, help="seed of the pairing of videos (both swaps)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    ap.add_argument("-C", "--workdir", help="the folder the runs were made in (`amuse -C`, e.g. bench/shift.py's "
                                            "work folder): their relative data and cache paths live there")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "honesty.json"))
    args = ap.parse_args()
    out_path = Path(args.out).absolute()
    runs = [Path(r).absolute() for r in args.runs]
    if args.workdir:
        os.chdir(args.workdir)
    torch.set_num_threads(1)
    rows = {}
    try:
        for run, name in zip(runs, args.runs):
            entry = rows[name] = row(answer_three_ways(run, args.split, args.seed, args.device))
            scored = run / f"metrics-{args.split}.json"   # what `amuse eval` got: "normal" must agree with it
            if scored.is_file():
                entry["eval_avg"] = json.loads(scored.read_text(encoding="utf-8"))["cells"]["Avg"]["acc"]
            print(f"{run}: normal Avg {entry['normal']['Avg']:.2f}, audio swapped {entry['audio_swapped']['Avg']:.2f}, "
                  f"frames swapped {entry['frames_swapped']['Avg']:.2f}; audio drop {entry['drop']}, "
                  f"frames drop {entry['frames_drop']}", flush=True)
    except AmuseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out = write_atomic(out_path, json.dumps({
        "what": "test accuracy as is, with each test video's audio swapped for another test video's, and with "
                "its frames swapped (the same pairing)",
        "split": args.split, "seed": args.seed,
        "figures": {k: f"{c} drops >= {v:g} points" for k, (c, v) in FIGURES.items()},
        "runs": rows}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
