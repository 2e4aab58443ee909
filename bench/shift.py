"""Does a figure survive a change of world? The suite's variant trained on the default world, tested
where the world shifts (issue 22), through the real CLI in a work folder of its own.

Rows (each: accuracy per type, group averages and Avg, questions, and the drop from row a):
  a  in distribution: the trained run's own test split, the questions asked by their template;
  b  a new seed: `amuse synth --seed <test seed>`, every video in its test split;
  c  unseen rephrasings: the run's own test questions asked by a rephrasing training never showed
     (row c-seen beside it: those asked by a rephrasing training did show);
  d  another soundfont: b's scenes with their sound rendered from another GM font (FluidR3 where
     installed, else --soundfont; no row where there is none);
  e  held-out settings: a second run trained on a set drawn without the --held-out settings, tested on
     a set of only those, beside the same run tested on a set of its own settings (row e-own: the
     like-for-like baseline its drop is measured against too);
  f  the old world: `--world classic`, same seed and size as b.
The shifted test sets (b, d, e, e-own, f) have --test-videos videos each, all in their test split, every
question asked by its template (`--wording templates`): a row moves one thing at a time. The held-out
settings are held out of the QA training only; the perception file the recipe names was pretrained as it
was (shift.json records what it says it was trained on).

    python bench/shift.py                                  # full size (2 trainings, 7 sets); WORK: /tmp/amuse-shift
    python bench/shift.py --work /tmp/shift-tiny --videos 40 --test-videos 24 --seconds 4 \\
        --questions-per-video 8 --override train.epochs=3  # a small try
    python bench/shift.py --rows a,c                        # only the steps these rows need
Every command is printed before it runs. A step is skipped when its stamp (WORK/stamps/<step>.json) holds
the same command after the same earlier steps, so a rerun continues where the last one stopped and
reruns what a changed option invalidates. Writes bench/results/shift.json (per row: cells, questions,
drops, seeds, the sets' synth commands and every command behind it; the table) and prints the table.
"""
from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from amuse_cli import config  # noqa: E402
from amuse_cli.atomic import write_atomic  # noqa: E402
from amuse_cli.data.metrics import cells_from_predictions  # noqa: E402
from amuse_cli.data.wordings import SEEN, TEMPLATE, UNSEEN  # noqa: E402
from amuse_cli.errors import AmuseError  # noqa: E402
from amuse_cli.synth.settings import SETTINGS  # noqa: E402

ROWS = ("a", "b", "c", "d", "e", "f")
DROP_COLUMNS = ("A-Avg", "V-Avg", "AV-Avg", "Avg")
# issue 22's figures: (row, the row it is measured against, most points below it on Avg)
GOALS = (("c", "a", 5.0), ("d", "a", 8.0), ("e", "e-own", 8.0))


# --- steps: commands, their order and what a rerun may skip --------------------------------------------
@dataclass
class Step:
    key: str
    args: tuple[str, ...]             # the amuse arguments after `-C WORK`
    after: tuple[str, ...] = ()       # steps whose outputs this one reads
    clears: Path | None = None        # a folder of this bench's own, removed before the step reruns


@dataclass
class Plan:
    """Steps in the order they may run (a step names only earlier ones), each with a signature over its
    command and its earlier steps' signatures: a stamp with another signature means run it again."""
    work: Path
    steps: dict[str, Step] = field(default_factory=dict)

    def add(self, key: str, *args, after=(), clears: Path | None = None) -> str:
        unknown = [a for a in after if a not in self.steps]
        if key in self.steps or unknown:
            raise ValueError(f"step {key}: {'already planned' if key in self.steps else f'unknown earlier {unknown}'}")
        self.steps[key] = Step(key, tuple(map(str, args)), tuple(after), clears)
        return key

    def command(self, key: str) -> str:
        return " ".join(["amuse", "-C", str(self.work), *self.steps[key].args])

    def signature(self, key: str) -> str:
        step = self.steps[key]
        text = json.dumps([list(step.args), [self.signature(k) for k in step.after]])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def stamp(self, key: str) -> Path:
        return self.work / "stamps" / f"{key}.json"

    def done(self, key: str) -> bool:
        try:
            return json.loads(self.stamp(key).read_text())["signature"] == self.signature(key)
        except (OSError, ValueError, KeyError):
            return False

    def needed(self, keys) -> list[str]:
        """`keys` and every step they read from, in plan order."""
        want, todo = set(), list(keys)
        while todo:
            k = todo.pop()
            if k not in want:
                want.add(k)
                todo.extend(self.steps[k].after)
        return [k for k in self.steps if k in want]

    def run(self, keys, call) -> None:
        """Run what `keys` need and is not done yet, printing each command (`call(args)` runs one)."""
        for key in self.needed(keys):
            if self.done(key):
                print(f"done, skipped: {self.command(key)}", flush=True)
                continue
            step = self.steps[key]
            if step.clears is not None and step.clears.exists():
                shutil.rmtree(step.clears)    # a set of other options: synth must not mix with it
            print(f"\n$ {self.command(key)}", flush=True)
            start = time.time()
            call(step.args)
            write_atomic(self.stamp(key), json.dumps({"command": self.command(key), "signature": self.signature(key),
                                                      "seconds": round(time.time() - start, 1)}, indent=1) + "\n")


# --- rows: which predictions, which questions of them, measured against what -----------------------------
@dataclass
class Row:
    key: str
    what: str
    eval_step: str                    # the step that writes the predictions
    predictions: Path
    wording: str | None = None        # keep only the questions asked so (None: all)
    against: tuple[str, ...] = ("a",)  # rows its drop is measured from
    train_set: str | None = None
    test_set: str | None = None


def row_result(row: Row, plan: Plan) -> dict | None:
    """A row's cells from its predictions, or None while its steps are not all done with today's options."""
    if not all(plan.done(k) for k in plan.needed([row.eval_step])) or not row.predictions.is_file():
        return None
    preds = [json.loads(line) for line in row.predictions.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = [p for p in preds if row.wording is None or p.get("wording") == row.wording]
    cells = cells_from_predictions(kept)
    wordings = Counter(str(p.get("wording")) for p in kept)
    return {"cells": {k: c["acc"] for k, c in cells.items()}, "questions": {k: c["n"] for k, c in cells.items()},
            "wordings": dict(sorted(wordings.items()))}


def drops(results: dict[str, dict], row: Row) -> dict[str, dict]:
    """{baseline row: {group column: points below it}} for the baselines that have results."""
    mine = results[row.key]["cells"]
    out = {}
    for base in row.against:
        if base != row.key and results.get(base) is not None:
            theirs = results[base]["cells"]
            out[base] = {c: round(theirs[c] - mine[c], 2) for c in DROP_COLUMNS
                         if theirs.get(c) is not None and mine.get(c) is not None}
    return out


def goals(results: dict[str, dict]) -> list[dict]:
    out = []
    for key, base, most in GOALS:
        drop = (results.get(key) or {}).get("drops", {}).get(base, {}).get("Avg")
        out.append({"row": key, "against": base, "goal": f"Avg at most {most:g} points below",
                    "drop": drop, "met": None if drop is None else drop <= most})
    return out


def table(rows: list[Row], results: dict[str, dict]) -> str:
    """The README's markdown table: one line per row that has results."""
    lines = ["| row | tested on | trained on | questions | A-Avg | V-Avg | AV-Avg | Avg | Avg against |",
             "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        res = results.get(row.key)
        if res is None:
            continue
        cells = res["cells"]
        drop = "; ".join(f"{abs(d['Avg']):.2f} {'below' if d['Avg'] >= 0 else 'above'} {b}"
                         for b, d in res["drops"].items() if "Avg" in d)
        lines.append(f"| {row.key} | {row.what} | {row.train_set} | {res['questions']['Avg']} | "
                     + " | ".join("-" if cells[c] is None else f"{cells[c]:.2f}" for c in DROP_COLUMNS)
                     + f" | {drop} |")
    return "\n".join(lines)


# --- the world: fonts, settings, the sets ------------------------------------------------------------
def other_soundfont(given: str | None) -> tuple[Path | None, str]:
    """(a GM font other than the default world's, how it was chosen) or (None, why there is none)."""
    from amuse_cli.synth import soundfont
    if given:
        if not Path(given).is_file():
            raise AmuseError(f"--soundfont {given}: no such file; give an .sf2 file or leave it out")
        return Path(given).resolve(), "--soundfont"
    try:
        own = soundfont.resolve(None)
    except AmuseError as e:       # no renderer or no default font: the default world cannot render one either
        return None, str(e)
    for font in soundfont.installed_soundfonts():
        if not (font.stat().st_size == own.stat().st_size and filecmp.cmp(font, own, shallow=False)):
            return font.resolve(), f"installed ({font.parent})"
    return None, (f"no GM soundfont other than the world's own ({own.name}) is installed in "
                  f"{', '.join(soundfont.SOUNDFONT_DIRS)}; give one with --soundfont FILE.sf2")


def held_out_settings(text: str) -> tuple[list[str], list[str]]:
    """(held out, kept) from a comma-separated list of settings."""
    held = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in held if s not in SETTINGS]
    if unknown or not held or len(held) >= len(SETTINGS):
        raise AmuseError(f"--held-out {text}: name 1 to {len(SETTINGS) - 1} of the settings {', '.join(SETTINGS)}")
    return held, [s for s in SETTINGS if s not in held]


def recipe_name(recipe: Path) -> str:
    return config.load(recipe, check_required=False)["name"]


def build(args) -> tuple[Plan, list[Row], dict]:
    """Every step and row of the bench for these options, in the order they run; nothing runs."""
    work = Path(args.work).absolute()
    recipe = Path(args.recipe).absolute()
    plan = Plan(work)
    held, kept = held_out_settings(args.held_out)
    font, font_how = other_soundfont(args.soundfont)
    size = [*(["--seconds", f"{args.seconds:g}"] if args.seconds else []),
            *(["--questions-per-video", args.questions_per_video] if args.questions_per_video else [])]
    test = ["--videos", args.test_videos, "--seed", args.test_seed, "--fractions", "0,0,1", "--wording", "templates",
            *size]
    held_train = "train-without-" + "-".join(held)
    runs_dir = work / "checkpoints" / recipe_name(recipe)
    runs = {"train": runs_dir / f"shift-s{args.seed}", held_train: runs_dir / f"shift-{held_train}-s{args.seed}"}
    sets: dict[str, list] = {}

    def data_set(name: str, opts: list) -> None:
        sets[name] = opts
        out = work / "data" / name
        plan.add(f"synth-{name}", "synth", "--out", out, *opts, "--no-progress", clears=out)
        plan.add(f"extract-{name}", "extract-features", recipe, f"data.root={out}", "--no-progress",
                 after=[f"synth-{name}"])
        if name in runs:
            plan.add(f"train-{name}", "train", recipe, f"data.root={out}", f"seed={args.seed}", *args.override,
                     "--run-name", runs[name].name, "--overwrite", "--no-progress", after=[f"extract-{name}"])

    def shifted(row: str, what: str, data: str, opts: list, trained: str, against=("a",)) -> Row:
        data_set(data, opts)
        run, split = runs[trained], f"shift-{data}"
        step = plan.add(f"eval-{data}", "eval", run, f"data.root={work / 'data' / data}", "--annotations",
                        work / "data" / data / "json" / "avqa-test.json", "--split", split,
                        after=[f"train-{trained}", f"extract-{data}"])
        return Row(row, what, step, run / f"predictions-{split}.jsonl", against=against, train_set=trained,
                   test_set=data)

    # the default world's run first: rows a and c need nothing else
    data_set("train", ["--videos", args.videos, "--seed", args.data_seed, *size])
    plan.add("eval-test", "eval", runs["train"], "--split", "test", after=["train-train"])
    own = runs["train"] / "predictions-test.jsonl"
    rows = [Row("a", "its own test split, template wording", "eval-test", own, TEMPLATE, (), "train", "train"),
            Row("c", "its own test split, unseen rephrasings", "eval-test", own, UNSEEN, ("a",), "train", "train"),
            Row("c-seen", "its own test split, seen rephrasings", "eval-test", own, SEEN, ("a",), "train", "train"),
            shifted("b", f"a new seed ({args.test_seed})", "new-seed", test, "train")]
    if font is not None:
        rows.append(shifted("d", f"another soundfont ({font.name}), b's scenes", "soundfont",
                            [*test, "--audio", f"soundfont={font}"], "train", ("a", "b")))
    data_set(held_train, ["--settings", ",".join(kept), "--videos", args.videos, "--seed", args.data_seed, *size])
    rows += [shifted("e-own", f"its own settings ({len(kept)}), new seed", "own-settings",
                     ["--settings", ",".join(kept), *test], held_train),
             shifted("e", f"held-out settings ({', '.join(held)})", "held-out-settings",
                     ["--settings", ",".join(held), *test], held_train, ("e-own", "a")),
             shifted("f", "the old world (classic), new seed", "classic", ["--world", "classic", *test], "train")]
    setup = {"recipe": str(recipe), "overrides": list(args.override), "model_seed": args.seed,
             "train_data_seed": args.data_seed, "test_seed": args.test_seed, "videos": args.videos,
             "test_videos": args.test_videos, "seconds": args.seconds, "questions_per_video": args.questions_per_video,
             "held_out_settings": held, "kept_settings": kept,
             "soundfont": {"file": str(font) if font else None, "how": font_how},
             "sets": {name: " ".join(["amuse synth", *map(str, opts)]) for name, opts in sets.items()},
             "runs": {k: str(v) for k, v in runs.items()}}
    return plan, rows, setup


def rows_wanted(text: str | None, rows: list[Row], setup: dict) -> list[Row]:
    """The rows `--rows` names (c brings c-seen, e brings e-own; None: all there are); d named without a
    font is an error."""
    if text is None:
        return rows
    keys = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in keys if k not in ROWS]
    if bad:
        raise AmuseError(f"--rows {text}: unknown {', '.join(bad)}; give some of {','.join(ROWS)}")
    if "d" in keys and not any(r.key == "d" for r in rows):
        raise AmuseError(f"--rows d: {setup['soundfont']['how']}")
    return [r for r in rows if r.key.split("-")[0] in keys]


# --- what the runs and sets say about themselves ------------------------------------------------------
def perception_of(run: Path) -> dict | None:
    """The perception file the run read (model.weights) and what it says it was trained on."""
    import torch
    cfg_file = run / "config.yaml"
    if not cfg_file.is_file():
        return None
    weights = config.load_yaml(cfg_file.read_text(encoding="utf-8"))["model"].get("weights")
    path = run.parents[2] / weights if weights and not Path(weights).is_absolute() else Path(str(weights))
    if not weights or weights in ("none", "DEFAULT") or not path.is_file():
        return {"weights": weights}
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {"weights": weights, "trained_on": state.get("trained_on") if isinstance(state, dict) else None}


def drawn(data: Path) -> dict | None:
    """What a set's ground truth says it holds: generator, world, videos per setting (the stage world's)."""
    metas = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((data / "meta").glob("*.json"))]
    if not metas:
        return None
    return {"generator": metas[0].get("generator"), "world": metas[0].get("world", "classic"), "videos": len(metas),
            "settings": dict(sorted(Counter(m.get("setting", m.get("background")) for m in metas).items()))}


def commit() -> str | None:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return out.stdout.strip() or None


def collect(plan: Plan, rows: list[Row], setup: dict, args) -> dict[str, dict | None]:
    """Every row whose steps are done with these options (run now or before): its cells, drops, seeds,
    sets and commands; None for the others."""
    results: dict[str, dict | None] = {}
    for row in rows:          # every row whose steps are done with today's options, asked for now or before
        res = row_result(row, plan)
        results[row.key] = None if res is None else {"what": row.what, **res}
    for row in rows:
        if results[row.key] is not None:
            seeds = {"model": args.seed, "train_data": args.data_seed}
            if row.test_set != row.train_set:
                seeds["test_data"] = args.test_seed
            results[row.key].update(
                drops=drops(results, row), trained_on=row.train_set, tested_on=row.test_set,
                wording=row.wording or "all (templates)", predictions=str(row.predictions), seeds=seeds,
                sets={s: setup["sets"][s] for s in dict.fromkeys([row.train_set, row.test_set])},
                commands=[plan.command(k) for k in plan.needed([row.eval_step])])
    if "d" not in results:
        results["d"] = {"missing": setup["soundfont"]["how"]}
    held_train = next(name for name in setup["sets"] if name.startswith("train-without-"))
    seen = (drawn(plan.work / "data" / held_train) or {}).get("settings", {})
    leaked = sorted(set(seen) & set(setup["held_out_settings"]))
    if leaked and results.get("e") is not None:   # the generator drew a setting it was told to leave out
        results["e"]["leak"] = f"the training set {held_train} holds videos of {', '.join(leaked)}: row e is void"
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/amuse-shift", help="folder for data, caches, runs and stamps")
    ap.add_argument("--recipe", default=str(REPO / "recipes" / "amuse-grounded.yaml"))
    ap.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                    help="a recipe override for both trainings (repeat for several)")
    ap.add_argument("--rows", help=f"comma-separated, from {','.join(ROWS)} (default: all; d where a font is found)")
    ap.add_argument("--videos", type=int, default=300, help="videos of each training set (amuse synth's default)")
    ap.add_argument("--test-videos", type=int, default=100, help="videos of each shifted test set")
    ap.add_argument("--seconds", type=float, help="video length of every set (default: amuse synth's)")
    ap.add_argument("--questions-per-video", type=int, help="for every set (default: amuse synth's)")
    ap.add_argument("--seed", type=int, default=0, help="the trainings' seed")
    ap.add_argument("--data-seed", type=int, default=0, help="seed of the training sets")
    ap.add_argument("--test-seed", type=int, default=1000, help="seed of the shifted test sets")
    ap.add_argument("--held-out", default="church,beach", help="settings held out of the second training")
    ap.add_argument("--soundfont", help="the other font for row d (default: an installed one, FluidR3 first)")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "shift.json"))
    ap.add_argument("--dry-run", action="store_true",
                    help="print every step the rows need, done or to run; run nothing")
    args = ap.parse_args()
    start = time.time()
    try:
        plan, rows, setup = build(args)
        wanted = rows_wanted(args.rows, rows, setup)
    except AmuseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.dry_run:
        for key in plan.needed([r.eval_step for r in wanted]):
            print(f"{'done' if plan.done(key) else 'to run'}: {plan.command(key)}")
        return 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    pretrained = plan.work / "checkpoints" / "pretrained"   # the recipes name checkpoints/pretrained/<file>
    if not pretrained.exists():
        pretrained.parent.mkdir(parents=True, exist_ok=True)
        pretrained.symlink_to(REPO / "checkpoints" / "pretrained")
    try:
        plan.run([r.eval_step for r in wanted],
                 lambda a: subprocess.run([sys.executable, "-m", "amuse_cli", "-C", str(plan.work), *a], cwd=REPO,
                                          check=True, env=env))
    except subprocess.CalledProcessError as e:
        print(f"error: a step failed (exit {e.returncode}); its command is printed above, finished steps are kept: "
              f"rerun to continue", file=sys.stderr)
        return 1
    results = collect(plan, rows, setup, args)
    md = table(rows, results)
    result = {"what": "bench/shift.py: the suite's variant trained on the default world, tested where the world shifts",
              "commit": commit(), "argv": sys.argv[1:], "setup": setup,
              "drawn": {name: drawn(plan.work / "data" / name) for name in setup["sets"]},
              "perception": {k: perception_of(Path(v)) for k, v in setup["runs"].items()},
              "rows": {k: v if v is not None else {"missing": f"not all its steps have run with these options "
                                                             f"(python bench/shift.py ... --rows {k[0]})"}
                       for k, v in results.items()},
              "goals": goals(results), "table": md, "seconds": round(time.time() - start, 1),
              "step_seconds": {k: json.loads(plan.stamp(k).read_text()).get("seconds") for k in plan.steps
                               if plan.done(k)}}
    print("\n" + md)
    for g in result["goals"]:
        print(f"row {g['row']} vs {g['against']}: {g['goal']}: drop {g['drop']} -> "
              f"{'met' if g['met'] else 'not met' if g['met'] is False else 'not measured'}")
    print(f"wrote {write_atomic(args.out, json.dumps(result, indent=1) + chr(10))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
