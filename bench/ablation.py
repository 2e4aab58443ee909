"""The paper's ablation table (Amuse Table 4) on the demo benchmark, through the real CLI.

Trains amuse-tiny (gated fusion, pretrained perception) as recipes/amuse-tiny.yaml has it and with
one part removed per row, for each seed; evaluates each val-selected checkpoint on test; then
`amuse report` groups the runs of each row into mean ± std over seeds.

    python bench/ablation.py                              # all rows, seeds 0,1,2 (~15 min a run on 2 cores)
    python bench/ablation.py --rows no-source --seeds 0   # one cell
Resumable: a run whose metrics-test.json exists is kept (--overwrite retrains it), so several
processes can share the work (`--rows ...`) and a last call without training collects the table.
Writes bench/results/ablation.json (the report's groups) and prints the Markdown table.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECIPE = "recipes/amuse-tiny.yaml"
RUNS = REPO / "checkpoints" / "amuse-tiny"

# row name -> (run-name prefix, overrides). The full model's runs are the ones bench/baselines.py
# names for amuse-tiny seeds, so both scripts share them.
ROWS = {
    "full": ("bench", []),
    "no-source": ("ablate-no-source", ["model.source=false"]),
    "no-rhythm": ("ablate-no-rhythm", ["model.rhythm=false"]),
    "no-adapters": ("ablate-no-adapters", ["model.adapters=none"]),
}


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "amuse_cli", *args], cwd=REPO, check=True)


def run_dir(row: str, seed: int) -> Path:
    return RUNS / f"{ROWS[row][0]}-s{seed}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, from: {', '.join(ROWS)}")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--overwrite", action="store_true", help="retrain runs that are already evaluated")
    ap.add_argument("--collect-only", action="store_true", help="train nothing; table the evaluated runs")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "ablation.json"))
    args = ap.parse_args()
    rows = args.rows.split(",")
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        ap.error(f"unknown row(s) {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    for seed in seeds:  # seed-major, so an interrupted sweep leaves whole seeds
        for row in rows:
            folder = run_dir(row, seed)
            if args.collect_only or ((folder / "metrics-test.json").exists() and not args.overwrite):
                continue
            cli("train", RECIPE, f"seed={seed}", *ROWS[row][1], "--run-name", folder.name, "--overwrite",
                "--no-progress")
            cli("eval", str(folder.relative_to(REPO)), "--split", "test")
    done = [str(run_dir(r, s).relative_to(REPO)) for r in ROWS for s in seeds
            if (run_dir(r, s) / "metrics-test.json").exists()]
    if not done:
        print("no evaluated ablation runs yet", file=sys.stderr)
        return 1
    cli("report", *done, "--split", "test", "--format", "json", "--out", args.out)
    cli("report", *done, "--split", "test", "--format", "md")
    print(f"wrote {args.out} ({len(done)} runs: {json.dumps(done)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
