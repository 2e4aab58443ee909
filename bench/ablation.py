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
sys.path.insert(0, str(REPO))

from amuse_cli.data.taxonomy import COLUMNS  # noqa: E402
from amuse_cli.report.reference import load_all  # noqa: E402

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
PAPER_ROWS = {"full": "Amuse", "no-source": "w/o source", "no-rhythm": "w/o rhythm",
              "no-adapters": "w/o multimodal interactive encoder"}   # Amuse paper, Table 4
SHOWN = ("A-Avg", "V-Avg", "AV-Avg", "Avg")


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
    print(effects_table(json.loads(Path(args.out).read_text())))
    print(f"wrote {args.out} ({len(done)} runs: {json.dumps(done)})")
    return 0


def effects_table(report: dict) -> str:
    """Markdown: each row's mean ± std over seeds and its effect on Avg against the full model,
    beside the same effect in the paper's Table 4 (MUSIC-AVQA v1)."""
    mine = {}
    for group in report["runs"]:
        row = next((r for r, (prefix, _) in ROWS.items() if all(n.split("/")[-1].startswith(prefix + "-s")
                                                               for n in group["runs"])), None)
        if row is not None:
            mine[row] = group
    paper = {r["method"]: dict(zip(COLUMNS, r["values"])) for t in load_all() if t["id"] == "amuse-table4"
             for r in t["rows"]}
    lines = ["| row | seeds | " + " | ".join(SHOWN) + " | effect on Avg | paper: effect on Avg |",
             "|---|---:|" + "---:|" * len(SHOWN) + "---:|---:|"]
    full = mine.get("full")
    for row, group in mine.items():
        cells = [_mean_std(group["cells"][c]) for c in SHOWN]
        effect = "" if full is None or row == "full" else \
            f"{group['cells']['Avg']['acc'] - full['cells']['Avg']['acc']:+.2f}"
        theirs = "" if row == "full" else f"{paper[PAPER_ROWS[row]]['Avg'] - paper['Amuse']['Avg']:+.2f}"
        lines.append(f"| {row} | {group['seeds']} | " + " | ".join(cells) + f" | {effect} | {theirs} |")
    return "\n".join(lines)



def _mean_std(cell: dict) -> str:
    return f"{cell['acc']:.2f}" + (f" ± {cell['std']:.2f}" if "std" in cell else "")   # one seed: no std


if __name__ == "__main__":
    sys.exit(main())
