"""amuse-grounded, amuse-tiny and every baseline on one synthetic benchmark, through the real CLI.

Trains each recipe (the same cache, budget and perception) for each seed, evaluates the
val-selected checkpoint on test and collects each run's metrics-test.json; with several seeds,
`amuse report` groups the runs of a recipe into mean ± std (bench/results/seeds.json).

    python bench/baselines.py                          # needs `amuse synth && amuse extract-features recipes/amuse-tiny.yaml`
    python bench/baselines.py --recipes prior,question_only
    python bench/baselines.py --recipes amuse-grounded,prior,question_only --seeds 0,1,2
Writes bench/results/baselines.json (and seeds.json); `amuse report checkpoints/*/bench* --split test`
prints the table.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from amuse_cli.atomic import write_atomic  # noqa: E402

RECIPES = {"amuse-grounded": "recipes/amuse-grounded.yaml", "amuse-tiny": "recipes/amuse-tiny.yaml",
           **{p.stem: f"recipes/baselines/{p.name}" for p in sorted((REPO / "recipes" / "baselines").glob("*.yaml"))}}


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "amuse_cli", *args], cwd=REPO, check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", default=",".join(RECIPES), help=f"comma-separated, from: {', '.join(RECIPES)}")
    ap.add_argument("--run-name", default="bench")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds; run folders <run-name>-s<seed>")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "baselines.json"))
    ap.add_argument("--seeds-out", default=str(REPO / "bench" / "results" / "seeds.json"))
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows, runs = {}, []
    for name in args.recipes.split(","):
        for seed in seeds:
            # a lone seed 0 keeps the plain name; any other seed is named, so a later --seeds 1 never
            # overwrites seed 0's run
            run = args.run_name if seeds == [0] else f"{args.run_name}-s{seed}"
            start = time.time()
            cli("train", RECIPES[name], f"seed={seed}", "--run-name", run, "--overwrite", "--no-progress")
            cli("eval", f"checkpoints/{name}/{run}", "--split", "test")
            metrics = json.loads((REPO / "checkpoints" / name / run / "metrics-test.json").read_text())
            rows[f"{name}/{run}"] = {"recipe": RECIPES[name], "seed": seed, "seconds": round(time.time() - start, 1),
                                     "metrics": metrics}
            runs.append(f"checkpoints/{name}/{run}")
    out = write_atomic(args.out, json.dumps({
        "what": "test accuracy of amuse-grounded, amuse-tiny and the baselines (val-selected checkpoints)",
        "cpu_threads": os.cpu_count(), "seeds": seeds, "runs": rows}, indent=2) + "\n")
    if len(seeds) > 1:  # mean ± std per recipe, as `amuse report` prints them
        cli("report", *runs, "--split", "test", "--format", "json", "--out", args.seeds_out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
