"""amuse-tiny against every baseline on one synthetic benchmark, through the real CLI.

Trains each recipe (amuse-tiny and recipes/baselines/*.yaml, the same cache, budget and seed), evaluates
the val-selected checkpoint on test and collects each run's metrics-test.json.

    python bench/baselines.py                          # needs `amuse synth && amuse extract-features recipes/amuse-tiny.yaml`
    python bench/baselines.py --recipes prior,question_only
Writes bench/results/baselines.json; `amuse report checkpoints/*/bench --split test` prints the table.
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

RECIPES = {"amuse-tiny": "recipes/amuse-tiny.yaml",
           **{p.stem: f"recipes/baselines/{p.name}" for p in sorted((REPO / "recipes" / "baselines").glob("*.yaml"))}}


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "amuse_cli", *args], cwd=REPO, check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", default=",".join(RECIPES), help=f"comma-separated, from: {', '.join(RECIPES)}")
    ap.add_argument("--run-name", default="bench")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "baselines.json"))
    args = ap.parse_args()
    rows = {}
    for name in args.recipes.split(","):
        start = time.time()
        cli("train", RECIPES[name], "--run-name", args.run_name, "--overwrite")
        cli("eval", f"checkpoints/{name}/{args.run_name}", "--split", "test")
        metrics = json.loads((REPO / "checkpoints" / name / args.run_name / "metrics-test.json").read_text())
        rows[name] = {"recipe": RECIPES[name], "seconds": round(time.time() - start, 1), "metrics": metrics}
    out = write_atomic(args.out, json.dumps({
        "what": "test accuracy of amuse-tiny and the baselines (val-selected checkpoints)",
        "cpu_threads": os.cpu_count(), "runs": rows}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
