"""Unseen rephrasings against template questions, for evaluated runs of a `--wording mixed` set, and
the decisive paired experiment: the test questions asked by an unseen rephrasing, answered once as
asked and once asked by their template (same videos, same answers, only the words differ).

The issue's figure compares two different sets of test questions (those asked by template and those
asked by an unseen rephrasing); the paired figure isolates the words: what a perfect reader of the
unseen wording would recover is exactly `as_template - as_asked` on the same questions. Per template
and per rephrasing, which wordings lose answers.

Run (after `amuse eval RUN --split test`):
  .venv/bin/python bench/wording_gap.py RUN [RUN ...] --data DIR [OVERRIDE ...]  -> bench/results/wording_gap.json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amuse_cli.atomic import write_atomic                     # noqa: E402
from amuse_cli.data.taxonomy import TEMPLATES_RAW             # noqa: E402
from amuse_cli.data.wordings import KINDS, UNSEEN, recognise  # noqa: E402
from amuse_cli.engine.evaluate import evaluate                # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "wording_gap.json"


def read(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def acc(rows: list[dict]) -> dict:
    return {"acc": round(100.0 * sum(r["correct"] for r in rows) / len(rows), 2), "n": len(rows)} if rows else None


def paired_files(test_file: Path, folder: Path) -> tuple[Path, Path, list[str]]:
    """The test questions asked by an unseen rephrasing: as asked, and with their template's text;
    the rephrasing of each, in file order."""
    asked, as_template = [], []
    for raw in json.loads(test_file.read_text(encoding="utf-8")):
        reph = recognise(raw["question_content"])
        if reph is None or reph.kind != UNSEEN:
            continue
        asked.append(raw)
        as_template.append({**raw, "question_content": TEMPLATES_RAW[reph.template][0]})
    out = folder / "unseen-as-asked.json", folder / "unseen-as-template.json"
    for path, rows in zip(out, (asked, as_template)):
        path.write_text(json.dumps(rows), encoding="utf-8")
    return *out, [raw["question_content"] for raw in asked]


def one_run(run: Path, test_file: Path, overrides: list[str]) -> dict:
    preds = read(run / "predictions-test.jsonl")
    by_kind = {k: acc([p for p in preds if p["wording"] == k]) for k in KINDS}
    by_kind = {k: v for k, v in by_kind.items() if v}
    with tempfile.TemporaryDirectory() as tmp:
        asked_file, template_file, texts = paired_files(test_file, Path(tmp))
        evaluate(run, "unseen-as-asked", str(asked_file), overrides)
        evaluate(run, "unseen-as-template", str(template_file), overrides)
    asked, templ = read(run / "predictions-unseen-as-asked.jsonl"), read(run / "predictions-unseen-as-template.jsonl")
    assert [(p["video_id"], p["question_id"]) for p in asked] == [(p["video_id"], p["question_id"]) for p in templ]
    per_template, per_asked = defaultdict(lambda: ([], [])), defaultdict(lambda: ([], []))
    for a, t, text in zip(asked, templ, texts):      # predictions keep the file's order
        for group in (per_template[a["template"]], per_asked[text]):
            group[0].append(a)
            group[1].append(t)
    gap = None
    if "unseen" in by_kind and "template" in by_kind:
        gap = round(by_kind["unseen"]["acc"] - by_kind["template"]["acc"], 2)
    return {
        "run": str(run), "test_by_wording": by_kind, "unseen_minus_template": gap,
        "paired_unseen": {"as_asked": acc(asked), "as_template": acc(templ),
                          "words_cost": round(acc(templ)["acc"] - acc(asked)["acc"], 2)},
        "per_template": [{"template": t, "n": len(a), "as_asked": acc(a)["acc"], "as_template": acc(b)["acc"]}
                         for t, (a, b) in per_template.items()],
        "per_rephrasing": [{"asked": k, "n": len(a), "as_asked": acc(a)["acc"], "as_template": acc(b)["acc"]}
                           for k, (a, b) in sorted(per_asked.items())],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--data", required=True, help="the --wording mixed set the runs were evaluated on")
    ap.add_argument("--out", default=str(RESULTS))
    args, overrides = ap.parse_known_args()
    test_file = Path(args.data) / "json" / "avqa-test.json"
    out = {"command": "python bench/wording_gap.py " + " ".join(sys.argv[1:]), "data": args.data, "runs": {}}
    for run in args.runs:
        res = one_run(Path(run), test_file, overrides)
        out["runs"][Path(run).name] = res
        w, p = res["test_by_wording"], res["paired_unseen"]
        print(f"{Path(run).name}: " + "  ".join(f"{k} {v['acc']:.2f} (n {v['n']})" for k, v in w.items())
              + f"  unseen - template {res['unseen_minus_template']}; same unseen questions as asked "
              f"{p['as_asked']['acc']:.2f}, by template {p['as_template']['acc']:.2f}", flush=True)
    write_atomic(args.out, json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
