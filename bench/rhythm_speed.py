"""Per-video labelling time of the rhythm labeller (estimate_bpm + change_labels) on a 12 s and a 60 s clip.

Audio: two hard pieces (bench/rhythm_pieces.py, seed 7) rendered with the default soundfont and joined
into 60 s; the 12 s clip is its start. Segments as recipes/amuse.yaml (20 of 3 s; a 12 s clip fills 4).
One torch thread (as each extraction worker), one warm-up call, then the median of --repeats calls;
labellers are timed in turns so a busy machine slows all alike.

Run: .venv/bin/python bench/rhythm_speed.py [--also NAME=old/rhythm.py] -> bench/results/rhythm-speed.json
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from amuse_cli.atomic import write_atomic                      # noqa: E402
from amuse_cli.features import rhythm                          # noqa: E402
from amuse_cli.synth import soundfont                          # noqa: E402
from bench import rhythm_pieces                                # noqa: E402

RESULTS = ROOT / "bench" / "results" / "rhythm-speed.json"


def _load(name: str, path: str):
    spec = importlib.util.spec_from_file_location(f"speed_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--also", action="append", default=[], metavar="NAME=FILE.py")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    sf2 = soundfont.resolve(None)
    metas = rhythm_pieces.pieces(7, 2, 0.25)
    audio = np.concatenate([rhythm_pieces.render(m, sf2, np.random.default_rng(m["seed"])) for m in metas])
    labellers = {"amuse": rhythm, **{n: _load(n, p) for n, p in (a.split("=", 1) for a in args.also)}}
    times = {f"{n}_{s}s": [] for n in labellers for s in (12, 60)}
    for rep in range(args.repeats + 1):
        for name, mod in labellers.items():
            for secs in (12, 60):
                clip = audio[:secs * rhythm_pieces.SR]
                bounds, mask = mod.segment_bounds(float(secs), 3.0, 20)
                start = time.perf_counter()
                mod.change_labels(mod.estimate_bpm(clip, rhythm_pieces.SR, bounds, mask), mask, 0.25)
                if rep:                                     # the first call builds caches: not timed
                    times[f"{name}_{secs}s"].append(time.perf_counter() - start)
    out = {"command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]), "repeats": args.repeats,
           "median_seconds": {k: round(float(np.median(v)), 4) for k, v in times.items()},
           "min_seconds": {k: round(float(np.min(v)), 4) for k, v in times.items()}}
    write_atomic(args.out, json.dumps(out, indent=1) + "\n")
    print(json.dumps(out["median_seconds"]))


if __name__ == "__main__":
    main()
