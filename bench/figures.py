"""The README's report figures, made again from nothing through the real CLI (issue 24).

    python bench/figures.py                          # about an hour on 2 cores; WORK defaults to /tmp/amuse-figures
    python bench/figures.py --work DIR --no-v1       # without the stand-in v1 evaluation
In WORK (`amuse -C WORK ...`), each step skipped when its output exists, so a rerun continues:
1. `amuse synth` (the default world of this checkout) and `amuse extract-features recipes/amuse-tiny.yaml`;
2. amuse-grounded over seeds 0-2 (seed 0 with train.tensorboard=true), the gated amuse-tiny (seed 0),
   prior and question_only, each trained and evaluated on test, as `make demo` and bench/baselines.py do
   (--jobs of them at once, logs in WORK/logs/);
3. `amuse report --plot docs/figures/report-demo.{png,pdf}` and `--curves docs/figures/curves-demo.{png,pdf}`
   (amuse-grounded seed 0, amuse-tiny, question_only);
4. with --v1 FILE (default: ../shared/data/music-avqa/avqa-test.json when present): the real MUSIC-AVQA v1
   test file (the questions of its first --v1-videos video ids: a part of it, marked so by the report;
   0 for all 6,399, about an hour more on 2 cores), its videos played by stand-ins (the demo's test
   videos linked under the real ids: the questions are real, the videos are not, so the accuracy is
   no result), extracted, answered by amuse-grounded seed 0 (`eval --annotations`) and drawn beside
   the Amuse paper's Table 2 row (docs/figures/report-v1-standin.{png,pdf});
5. the TensorBoard event files of amuse-grounded seed 0 read back with tensorboard's own reader.
Writes bench/results/figures.json: the world (generator of the synthetic set), commit, commands, each
run's test Avg and the scalar tags found.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from amuse_cli.atomic import write_atomic  # noqa: E402

RECIPES = {"amuse-grounded": "recipes/amuse-grounded.yaml", "amuse-tiny": "recipes/amuse-tiny.yaml",
           "prior": "recipes/baselines/prior.yaml", "question_only": "recipes/baselines/question_only.yaml"}
RUNS = [("amuse-grounded", 0), ("amuse-grounded", 1), ("amuse-grounded", 2), ("prior", 0), ("question_only", 0),
        ("amuse-tiny", 0)]
CURVES = ["amuse-grounded/demo-s0", "amuse-tiny/demo-s0", "question_only/demo-s0"]
SHARED_V1 = REPO.parent / "shared" / "data" / "music-avqa" / "avqa-test.json"
V1_SPLIT = "v1-test"   # the name `eval --annotations` gives the stand-in evaluation's outputs
COMMANDS: list[str] = []


def amuse(work: Path, *args: str, log: Path | None = None) -> None:
    """One CLI call; with `log`, its output goes there and torch keeps to one thread (parallel jobs)."""
    cmd = [sys.executable, "-m", "amuse_cli", "-C", str(work), *map(str, args)]
    COMMANDS.append(" ".join(["amuse", "-C", str(work), *map(str, args)]))
    print("\n$ " + COMMANDS[-1] + (f"  > {log}" if log else ""), flush=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), **({"OMP_NUM_THREADS": "1"} if log else {})}
    if log is None:
        subprocess.run(cmd, cwd=REPO, check=True, env=env)
        return
    with open(log, "a", encoding="utf-8") as out:
        subprocess.run(cmd, cwd=REPO, check=True, env=env, stdout=out, stderr=subprocess.STDOUT)


def prepare(work: Path) -> None:
    """The synthetic set, its cache and the shipped perception the recipes name (relative paths)."""
    pretrained = work / "checkpoints" / "pretrained"
    if not pretrained.exists():
        pretrained.parent.mkdir(parents=True, exist_ok=True)
        pretrained.symlink_to(REPO / "checkpoints" / "pretrained")
    if not (work / "data" / "synth" / "json" / "avqa-test.json").exists():
        amuse(work, "synth", "--no-progress")
    amuse(work, "extract-features", REPO / RECIPES["amuse-tiny"], "--no-progress")  # resumes: cached videos skip


def train_and_eval(work: Path, recipe: str, seed: int, parallel: bool) -> Path:
    run = work / "checkpoints" / recipe / f"demo-s{seed}"
    log = work / "logs" / f"{recipe}-s{seed}.log" if parallel else None
    if not (run / "metrics-test.json").exists():
        extra = ["train.tensorboard=true"] if (recipe, seed) == ("amuse-grounded", 0) else []
        amuse(work, "train", REPO / RECIPES[recipe], f"seed={seed}", *extra, "--run-name", run.name,
              "--overwrite", "--no-progress", log=log)
        amuse(work, "eval", run, "--split", "test", log=log)
    return run


def stand_in_v1(work: Path, v1_file: Path, run: Path, videos_wanted: int) -> Path:
    """The real v1 test file (or the questions of its first `videos_wanted` video ids, a part of it that
    `amuse eval` identifies and the report marks as such) under json_update/, its videos played by the
    demo's test videos; returns the annotation file scored.

    Each stand-in brings its own ground truth (the recipe's source labels are read from it when the
    cache is built; answering never reads it), kept in truth/ rather than meta/: a meta/ folder beside
    json_update/ would make `amuse eval` take the file for a synthetic set."""
    root = work / "v1-standin"
    videos, truth, target = root / "videos", root / "truth", root / "json_update" / v1_file.name
    if not target.exists():
        records = json.loads(v1_file.read_text(encoding="utf-8"))
        ids = sorted({str(r["video_id"]) for r in records})[:videos_wanted or None]
        synth = work / "data" / "synth"
        pool = sorted({r["video_id"] for r in json.loads((synth / "json" / "avqa-test.json").read_text(encoding="utf-8"))})
        for folder in (videos, truth):
            folder.mkdir(parents=True, exist_ok=True)
        for i, vid in enumerate(ids):
            stand_in = pool[i % len(pool)]
            (videos / f"{vid}.mp4").symlink_to(synth / "videos" / f"{stand_in}.mp4")
            (truth / f"{vid}.json").symlink_to(synth / "meta" / f"{stand_in}.json")
        target.parent.mkdir(parents=True, exist_ok=True)
        if len(ids) == len({str(r["video_id"]) for r in records}):
            target.write_bytes(v1_file.read_bytes())  # byte for byte: the release's sha256 is kept
        else:
            keep = set(ids)
            target.write_text(json.dumps([r for r in records if str(r["video_id"]) in keep]), encoding="utf-8")
    data = [f"data.root={root}", "data.videos=videos", "data.meta=truth"]
    if not (run / f"predictions-{V1_SPLIT}.jsonl").exists():
        amuse(work, "extract-features", REPO / RECIPES["amuse-tiny"], *data, "--no-progress")
        amuse(work, "eval", run, *data, "--annotations", target, "--split", V1_SPLIT)
    return target


def read_tensorboard(run: Path) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: len(acc.Scalars(tag)) for tag in sorted(acc.Tags()["scalars"])}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/amuse-figures", help="scratch folder for data, cache and runs")
    ap.add_argument("--docs", default=str(REPO / "docs" / "figures"), help="where the figures go")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "figures.json"))
    ap.add_argument("--v1", default=str(SHARED_V1) if SHARED_V1.is_file() else None,
                    help="a real MUSIC-AVQA v1 test file for the stand-in evaluation")
    ap.add_argument("--no-v1", action="store_true")
    ap.add_argument("--v1-videos", type=int, default=1000,
                    help="stand-ins for the first N video ids of the v1 file and their questions (0: all 6,399)")
    ap.add_argument("--commit", help="the commit the runs were made at, where REPO is no git checkout")
    ap.add_argument("--jobs", type=int, default=3, help="trainings at once (1: one after another, 2 threads)")
    args = ap.parse_args()
    work, docs = Path(args.work).resolve(), Path(args.docs).resolve()
    work.mkdir(parents=True, exist_ok=True)
    docs.mkdir(parents=True, exist_ok=True)
    start = time.time()
    if not all((work / "checkpoints" / r / f"demo-s{s}" / "metrics-test.json").exists() for r, s in RUNS):
        prepare(work)  # data and cache only where a run is still to be made
    (work / "logs").mkdir(exist_ok=True)
    # slowest first; several at once, one torch thread each (on a shared 2-core machine, 2-thread
    # runs side by side stall each other far more than they gain)
    order = sorted(RUNS, key=lambda rs: rs[0] != "amuse-tiny")
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        done = dict(zip(order, pool.map(lambda rs: train_and_eval(work, *rs, args.jobs > 1), order)))
    runs = {f"{r}/demo-s{s}": done[(r, s)] for r, s in RUNS}
    for ext in ("png", "pdf"):
        amuse(work, "report", *runs.values(), "--split", "test", "--plot", docs / f"report-demo.{ext}")
        amuse(work, "report", *(work / "checkpoints" / c for c in CURVES), "--split", "test",
              "--curves", docs / f"curves-demo.{ext}")
    result = {"what": "bench/figures.py: the README's report figures from demo-sized runs",
              "commit": args.commit or subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                                                      text=True).stdout.strip() or None,
              "world": (work / "data" / "synth" / "README.md").read_text(encoding="utf-8").split("\n\n")[1],
              "generator": json.loads(next((work / "data" / "synth" / "meta").glob("*.json")).read_text())["generator"],
              "runs": {}}
    for name, run in runs.items():
        m = json.loads((run / "metrics-test.json").read_text())
        result["runs"][name] = {"avg": m["cells"]["Avg"]["acc"], "questions": m["questions"], "epoch": m.get("epoch"),
                                "trained_by": (run / "command.txt").read_text().strip()}
    result["tensorboard_scalars"] = read_tensorboard(runs["amuse-grounded/demo-s0"])
    if args.v1 and not args.no_v1:
        run = runs["amuse-grounded/demo-s0"]
        scored = stand_in_v1(work, Path(args.v1), run, args.v1_videos)
        for ext in ("png", "pdf"):
            amuse(work, "report", run, "--split", V1_SPLIT, "--reference", "v1", "--plot-published",
                  "amuse-table2:Amuse", "--plot", docs / f"report-v1-standin.{ext}")
        m = json.loads((run / f"metrics-{V1_SPLIT}.json").read_text())
        result["v1_standin"] = {"file": str(args.v1), "scored": str(scored), "questions": m["questions"],
                                "release": m.get("release"),
                                "avg": m["cells"]["Avg"]["acc"],
                                "note": "real questions, synthetic stand-in videos: shows the figure, is no result"}
    result["figures"] = sorted(p.name for p in docs.iterdir())
    result["commands"] = COMMANDS
    result["seconds"] = round(time.time() - start, 1)
    print(f"wrote {write_atomic(args.out, json.dumps(result, indent=1) + chr(10))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
