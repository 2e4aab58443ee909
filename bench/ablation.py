"""The paper's ablation table (Amuse Table 4) on the demo benchmark, through the real CLI.

Trains amuse-tiny (gated fusion, pretrained perception) as recipes/amuse-tiny.yaml has it and with
one part removed per row, for each seed; evaluates each val-selected checkpoint on test; then
`amuse report` groups the runs of each row into mean ± std over seeds.

    python bench/ablation.py                              # all rows, seeds 0,1,2 (~15 min a run on 2 cores)
    python bench/ablation.py --rows no-source --seeds 0   # one cell
    python bench/ablation.py --work /tmp/stage --tag stage --out bench/results/ablation-stage.json \
        --override data.root=/tmp/stage/data/train --override model.rois=performers \
        --override model.weights=$PWD/checkpoints/pretrained/perception-stage.pt   # another world, with RoIs
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

RECIPE = REPO / "recipes" / "amuse-tiny.yaml"

# row name -> (run-name prefix, overrides). The full model's runs are the ones bench/baselines.py
# names for amuse-tiny seeds, so both scripts share them.
ROWS = {
    "full": ("bench", []),
    "no-source": ("ablate-no-source", ["model.source=false"]),
    "no-rhythm": ("ablate-no-rhythm", ["model.rhythm=false"]),
    "no-adapters": ("ablate-no-adapters", ["model.adapters=none"]),
    "no-rois": ("ablate-no-rois", ["model.rois=none"]),
}
PAPER_ROWS = {"full": "Amuse", "no-source": "w/o source", "no-rhythm": "w/o rhythm",
              "no-adapters": "w/o multimodal interactive encoder",
              "no-rois": "w/o RoIs (YOLOv8)"}   # Amuse paper, Table 4
SHOWN = ("A-Avg", "V-Avg", "AV-Avg", "Avg")


def cli(work: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "amuse_cli", *args], cwd=work, check=True)


def run_name(row: str, seed: int, tag: str | None) -> str:
    """Without a tag, the demo benchmark's names (bench-sN shared with bench/baselines.py);
    with one, `<tag>-<row>-sN`, so the tables of several worlds can live in one work folder."""
    return f"{tag}-{row}-s{seed}" if tag else f"{ROWS[row][0]}-s{seed}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", help=f"comma-separated, from: {', '.join(ROWS)} "
                    "(default: all; no-rois only when an --override gives model.rois)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--overwrite", action="store_true", help="retrain runs that are already evaluated")
    ap.add_argument("--collect-only", action="store_true", help="train nothing; table the evaluated runs")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "ablation.json"))
    ap.add_argument("--work", type=Path, default=REPO,
                    help="folder the CLI runs in (its checkpoints/ receives the runs)")
    ap.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                    help="applied to every row, before the row's own (repeatable)")
    ap.add_argument("--tag", help="name runs <tag>-<row>-sN (default: the demo benchmark's names)")
    args = ap.parse_args()
    has_rois = any(o.startswith("model.rois=") and o != "model.rois=none" for o in args.override)
    rows = args.rows.split(",") if args.rows else [r for r in ROWS if has_rois or r != "no-rois"]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        ap.error(f"unknown row(s) {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    if "no-rois" in rows and not has_rois:
        ap.error("row no-rois removes region features the recipe does not have: "
                 "add --override model.rois=performers (or a detector), or leave the row out with --rows")
    work = args.work.resolve()
    runs = work / "checkpoints" / "amuse-tiny"
    seeds = [int(s) for s in args.seeds.split(",")]
    folders = {(r, s): runs / run_name(r, s, args.tag) for r in rows for s in seeds}
    for seed in seeds:  # seed-major, so an interrupted sweep leaves whole seeds
        for row in rows:
            folder = folders[row, seed]
            if args.collect_only or ((folder / "metrics-test.json").exists() and not args.overwrite):
                continue
            cli(work, "train", str(RECIPE), f"seed={seed}", *args.override, *ROWS[row][1],
                "--run-name", folder.name, "--overwrite", "--no-progress")
            cli(work, "eval", str(folder), "--split", "test")
    done = {key: folder for key, folder in folders.items() if (folder / "metrics-test.json").exists()}
    if not done:
        print("no evaluated ablation runs yet", file=sys.stderr)
        return 1
    cli(work, "report", *map(str, done.values()), "--split", "test", "--format", "json", "--out",
        str(Path(args.out).resolve()))
    row_of = {folder.resolve().name: row for (row, _), folder in done.items()}   # report resolves links
    print(effects_table(json.loads(Path(args.out).read_text()), row_of))
    print(f"wrote {args.out} ({len(done)} runs: {json.dumps([f.name for f in done.values()])})")
    return 0


def effects_table(report: dict, row_of: dict[str, str]) -> str:
    """Markdown: each row's mean ± std over seeds and its effect on Avg against the full model,
    beside the same effect in the paper's Table 4 (MUSIC-AVQA v1). `row_of`: run folder name -> row."""
    mine = {}
    for group in report["runs"]:
        rows = {row_of.get(n.split("/")[-1]) for n in group["runs"]}
        row = rows.pop() if len(rows) == 1 else None
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
