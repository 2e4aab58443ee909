"""Does the benchmark need its modalities? Each run answered twice: as is, and with every test
video's audio swapped for another test video's (a fixed derangement), frames untouched.

A model that answers Audio-Visual questions from the picture alone, or from the question alone,
loses nothing when the audio is swapped; one that binds sound to scene drops. Runs of
audio_only / visual_only / prior (bench/baselines.py) show the other side: what each modality
alone gets per question type.

    python bench/honesty.py checkpoints/amuse-grounded/demo
    python bench/honesty.py checkpoints/amuse-grounded/demo checkpoints/*/bench --out /tmp/h.json
Writes bench/results/honesty.json.
"""
from __future__ import annotations

import argparse
import json
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
from amuse_cli.features.lookup import open_cache  # noqa: E402
from amuse_cli.engine.evaluate import build_model, load_checkpointed_run, predict_dataset  # noqa: E402
from amuse_cli.data.metrics import accuracy_cells  # noqa: E402

AUDIO_KEYS = ("logmel",)


class SwappedAudio:
    """A feature cache whose videos carry another video's audio arrays."""

    def __init__(self, cache, partner: dict[str, str]):
        self.cache, self.partner = cache, partner

    def __getattr__(self, name):
        return getattr(self.cache, name)

    def __contains__(self, video_id) -> bool:
        return video_id in self.cache

    def arrays(self, video_id: str) -> dict:
        own = dict(self.cache.arrays(video_id))
        other = self.cache.arrays(self.partner[video_id])
        own.update({k: other[k] for k in AUDIO_KEYS})
        return own


def derangement(ids: list[str], seed: int) -> dict[str, str]:
    """Each video paired with another one (a shifted shuffle: nobody keeps its own audio)."""
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    return {v: order[(i + 1) % len(order)] for i, v in enumerate(order)}


def cells_of(run: Path, split: str, swap: bool, seed: int) -> dict:
    cfg, vocab, state, ckpt = load_checkpointed_run(run)
    ctx = distributed.setup("cpu")
    cache = open_cache(cfg)
    records = datasets.load_split(cfg, split)
    if swap:
        cache = SwappedAudio(cache, derangement(list({r.video_id for r in records}), seed))
    ds = datasets.dataset(cfg, records, cache, vocab)
    model = build_model(cfg, datasets.spec(cfg, cache.shapes, vocab), state, ctx.device, ckpt)
    preds = predict_dataset(model, datasets.with_scenes(ds, model, ctx.device), cfg, ctx)
    return accuracy_cells((r.group, r.qtype, ANSWERS[preds[i][0][0]] == r.answer) for i, r in enumerate(records))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="run folders (checkpoints/<recipe>/<run>)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--seed", type=int, default=0, help="seed of the audio pairing")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "honesty.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = {}
    for run in args.runs:
        run = Path(run)
        normal = cells_of(run, args.split, False, args.seed)
        swapped = cells_of(run, args.split, True, args.seed)
        rows[str(run)] = {"normal": {k: c["acc"] for k, c in normal.items()},
                          "audio_swapped": {k: c["acc"] for k, c in swapped.items()},
                          "questions": {k: c["n"] for k, c in normal.items()}}
        drop = {k: round(normal[k]["acc"] - swapped[k]["acc"], 2) for k in ("A-Avg", "V-Avg", "AV-Avg", "Avg")
                if normal[k]["acc"] is not None}
        rows[str(run)]["drop"] = drop
        print(f"{run}: normal Avg {normal['Avg']['acc']:.2f}, audio swapped {swapped['Avg']['acc']:.2f}; "
              f"drop {drop}", flush=True)
    out = write_atomic(args.out, json.dumps({
        "what": "test accuracy as is and with each test video's audio swapped for another test video's",
        "split": args.split, "seed": args.seed, "runs": rows}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
