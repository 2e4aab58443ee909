"""`amuse report`: run folders built here with known numbers, read back through the real CLI."""
from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from amuse_cli import config
from amuse_cli.cli import cli
from amuse_cli.data.taxonomy import ANSWERS, COLUMNS, TEMPLATES_RAW, TYPES, normalize_template
from amuse_cli.errors import AmuseError
from amuse_cli.report import plot as plotting
from amuse_cli.report import tables

REPO = Path(__file__).resolve().parents[1]
TYPE_COLS = ("A-Count", "A-Comp", "V-Count", "V-Loc", "AV-Exist", "AV-Count", "AV-Loc", "AV-Comp", "AV-Temp")
# (questions, correct) per type, chosen so that micro- and macro-averages differ in every group.
COUNTS = {"A-Count": (10, 9), "A-Comp": (30, 15), "V-Count": (20, 20), "V-Loc": (5, 1),
          "AV-Exist": (12, 6), "AV-Count": (8, 2), "AV-Loc": (25, 20), "AV-Comp": (6, 3), "AV-Temp": (14, 7)}


def templates_of(group, qtype):
    return [normalize_template(t) for t, g, q in TEMPLATES_RAW if (g, q) == (group, qtype)]


def make_run(root: Path, name: str, seed: int = 0, counts=COUNTS, benchmark: str = "synthetic",
             overrides=(), split: str = "test", template_as_index: bool = False) -> Path:
    """A run folder as `amuse train` + `amuse eval` write it (docs/INTERFACES.md §3)."""
    run = root / "checkpoints" / name
    run.mkdir(parents=True)
    cfg = config.load(REPO / "recipes/amuse.yaml", [f"seed={seed}", f"data.benchmark={benchmark}", *overrides])
    (run / "config.yaml").write_text(config.dump(cfg))
    lines, i = [], 0
    for (group, qtype), col in zip(TYPES, TYPE_COLS):
        n, k = counts[col]
        temps = templates_of(group, qtype)
        for j in range(n):
            answer = ANSWERS[i % len(ANSWERS)]
            pred = answer if j < k else ANSWERS[(i + 1) % len(ANSWERS)]
            t = temps[j % len(temps)]
            lines.append(json.dumps({
                "key": f"avqa-{split}:{i}", "video_id": f"{i:08d}", "question_id": i, "group": group,
                "type": qtype, "template": list(tables.TEMPLATE_IDS).index(t) if template_as_index else t,
                "question": t, "answer": answer, "prediction": pred, "correct": pred == answer,
                "top5": [[pred, 0.5], [answer, 0.3]]}))
            i += 1
    (run / f"predictions-{split}.jsonl").write_text("\n".join(lines) + "\n")
    return run


def recompute(pred_file: Path) -> dict:
    """Independent micro-averages straight from a predictions file: correct / questions per column."""
    per = {c: [0, 0] for c in COLUMNS}
    short = {"Audio": "A", "Visual": "V", "Audio-Visual": "AV"}
    tshort = {"Counting": "Count", "Comparative": "Comp", "Location": "Loc", "Existential": "Exist",
              "Temporal": "Temp"}
    for line in pred_file.read_text().splitlines():
        r = json.loads(line)
        for col in (f"{short[r['group']]}-{tshort[r['type']]}", f"{short[r['group']]}-Avg", "Avg"):
            per[col][0] += r["prediction"] == r["answer"]
            per[col][1] += 1
    return {c: (round(100 * k / n, 2), n) for c, (k, n) in per.items()}


def invoke(*args):
    result = CliRunner().invoke(cli, ["report", *map(str, args)], catch_exceptions=False)
    return result


def test_json_cells_equal_independent_micro_averages(work):
    run = make_run(work, "amuse/solo")
    result = invoke("--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (row,) = data["runs"]
    assert (row["name"], row["split"], row["seeds"]) == ("amuse/solo", "test", 1)
    assert list(row["cells"]) == list(COLUMNS)
    truth = recompute(run / "predictions-test.jsonl")
    assert {c: (v["acc"], v["n"]) for c, v in row["cells"].items()} == truth
    # micro, not macro: A-Avg = (9 + 15) / 40 = 60 %, while the mean of 90 % and 50 % is 70 %
    assert row["cells"]["A-Avg"] == {"acc": 60.0, "n": 40}
    assert row["cells"]["V-Avg"]["acc"] == 84.0                       # 21/25, macro would be 60
    assert row["cells"]["Avg"] == {"acc": round(100 * 83 / 130, 2), "n": 130}


def test_two_seeds_become_one_row_with_mean_and_std(work):
    make_run(work, "amuse/s0", seed=0)
    make_run(work, "amuse/s1", seed=1, counts={**COUNTS, "A-Count": (10, 7)})
    make_run(work, "amuse/long", seed=0, overrides=["train.epochs=5"])  # another recipe: own row
    result = invoke("--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["seeds"]: r for r in json.loads(result.stdout)["runs"]}
    assert sorted(rows) == [1, 2]
    pair = rows[2]
    assert pair["name"].startswith("amuse [") and pair["seed_values"] == [0, 1]
    assert pair["cells"]["A-Count"] == {"acc": 80.0, "n": 10, "std": round(float(np.std([90, 70], ddof=1)), 2)}
    assert pair["cells"]["A-Comp"]["std"] == 0.0
    assert pair["cells"]["A-Avg"]["acc"] == round((60.0 + 55.0) / 2, 2)
    assert rows[1]["name"] == "amuse/long"
    text = invoke().stdout
    assert "80.00 ± 14.14" in text and "amuse/long" in text


def _published_amuse_v1():
    return ["84.61", "82.45", "83.58", "87.14", "84.39", "85.84", "86.95", "85.49", "73.01", "82.98",
            "83.06", "82.43", "83.52"]


@pytest.mark.parametrize("fmt", ["rich", "md", "csv", "latex"])
def test_every_writer_prints_the_same_numbers(work, fmt):
    make_run(work, "v1/s0", seed=0, benchmark="music-avqa-v1")
    make_run(work, "v1/s1", seed=1, benchmark="music-avqa-v1", counts={**COUNTS, "A-Count": (10, 7)})
    out = invoke("--format", fmt, "--reference", "v1").stdout
    pm = "$\\pm$" if fmt == "latex" else "±"
    for text in (f"80.00 {pm} 14.14", f"57.50 {pm} 3.54", f"84.00 {pm} 0.00", "Questions", *_published_amuse_v1()):
        assert text in out, (fmt, text)
    assert "Published: MUSIC-AVQA v1 test, Amuse paper Table 2" in out and "Source: Diao et al." in out
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        assert rows[0] == ["Run", "Seeds", *COLUMNS]
        footer = rows.index(next(r for r in rows if r[0] == "Questions"))
        assert rows[footer + 1][0].startswith("Published")  # counts belong to the runs above them
        assert rows[footer] == ["Questions", "", "10", "30", "40", "20", "5", "25", "12", "8", "25", "6", "14",
                            "65", "130"]
        last_att = next(r for r in rows if r[0].startswith("LAST-Att"))
        assert last_att[4] == "–" and last_att[2] == "85.71"
    if fmt == "md":
        assert "| amuse [" in out and "| 2 | 80.00 ± 14.14 | 50.00 ± 0.00 | 57.50 ± 3.54 |" in out
    if fmt == "latex":
        assert out.count(r"\begin{tabular}") == 1 and r"\bottomrule" in out and "LAST-Att (Liu 2024) &  & 85.71 & 63.10 & -- &" in out


def test_reference_rows_only_beside_their_dataset(work):
    make_run(work, "syn/a", benchmark="synthetic")
    result = invoke("--format", "md", "--reference", "v1")
    assert result.exit_code == 0
    assert "Published" not in result.stdout and "84.61" not in result.stdout
    note = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(note) == 1 and "music-avqa-v1" in note[0] and "synthetic" in note[0]
    assert "reference" not in json.loads(invoke("--format", "json", "--reference", "v1").stdout)
    # a v2 run beside the synthetic one: two tables, the published v2 rows only in the v2 one
    make_run(work, "v2/a", benchmark="music-avqa-v2")
    out = invoke("--format", "md", "--reference", "v2").stdout
    syn_part, v2_part = out.split("benchmark: music-avqa-v2")
    assert "syn/a" in syn_part and "85.16" not in syn_part and "Published" not in syn_part
    assert "v2/a" in v2_part and "85.16" in v2_part and "Table 3" in v2_part
    data = json.loads(invoke("--format", "json", "--reference", "v2").stdout)
    assert [t["id"] for t in data["reference"]] == ["amuse-table3"]
    assert invoke("--format", "json", "--reference", "v1", "checkpoints/v2").exit_code == 0


def test_ci_is_a_seeded_question_bootstrap(work):
    counts = {**COUNTS, "AV-Loc": (400, 300)}
    make_run(work, "big/s0", counts=counts)
    a = json.loads(invoke("--format", "json", "--ci").stdout)["runs"][0]["cells"]
    b = json.loads(invoke("--format", "json", "--ci").stdout)["runs"][0]["cells"]
    assert a == b  # seeded: the same report twice
    for col, cell in a.items():
        lo, hi = cell["ci"]
        assert lo <= cell["acc"] <= hi, col
    assert a["V-Count"]["ci"] == [100.0, 100.0]  # all 20 correct in every resample
    # AV-Loc: 75 % of 400; the percentile interval is close to the normal one (+-1.96 * 2.17 points)
    half = 1.96 * 100 * math.sqrt(0.75 * 0.25 / 400)
    lo, hi = a["AV-Loc"]["ci"]
    assert abs((hi - lo) / 2 - half) < 0.8 and abs((hi + lo) / 2 - 75.0) < 0.8
    assert "[" in invoke("--ci").stdout


def test_by_template(work):
    make_run(work, "t/idx", template_as_index=True)
    result = invoke("--by", "template", "--format", "json")
    assert result.exit_code == 0, result.output
    temps = json.loads(result.stdout)["runs"][0]["templates"]
    # A-Comp: 30 questions over 3 templates round-robin, the first 15 correct -> 5 correct each
    for t in templates_of("Audio", "Comparative"):
        assert temps[t] == {"column": "A-Comp", "acc": 50.0, "n": 10}
    # V-Loc: 5 questions over 4 templates, only the first correct
    vloc = templates_of("Visual", "Location")
    assert temps[vloc[0]] == {"column": "V-Loc", "acc": 50.0, "n": 2}
    assert temps[vloc[1]]["acc"] == 0.0 and sum(v["n"] for v in temps.values()) == 130
    md = invoke("--by", "template", "--format", "md").stdout
    assert "| Is the <Object> louder than the <Object>? | A-Comp | 10 | 50.00 |" in md


def test_by_answer_report_and_confusion_csv(work):
    from sklearn.metrics import precision_recall_fscore_support

    run = make_run(work, "ans/a")
    result = invoke("--by", "answer", "--format", "json", str(run))
    assert result.exit_code == 0, result.output
    (rep,) = json.loads(result.stdout)["runs"]
    recs = [json.loads(x) for x in (run / "predictions-test.jsonl").read_text().splitlines()]
    y, p = [r["answer"] for r in recs], [r["prediction"] for r in recs]
    prec, rec, f1, sup = precision_recall_fscore_support(y, p, labels=["yes"], zero_division=0)
    assert rep["answers"]["yes"] == {"precision": round(100 * prec[0], 2), "recall": round(100 * rec[0], 2),
                                     "f1": round(100 * f1[0], 2), "support": int(sup[0])}
    assert sum(a["support"] for a in rep["answers"].values()) == 130
    files = sorted((run / "report").glob("confusion-test-*.csv"))
    assert len(files) == 9
    rows = list(csv.reader((run / "report" / "confusion-test-A-Comp.csv").open()))
    matrix = np.array([[int(v) for v in r[1:]] for r in rows[1:]])
    assert rows[0][0] == "true \\ predicted" and matrix.sum() == 30 and np.trace(matrix) == 15
    assert "Precision" in invoke("--by", "answer", str(run)).stdout


def test_plot_png_and_out_file(work):
    pytest.importorskip("matplotlib")  # in the `test` extra; skipped only where it is not installed
    make_run(work, "p/s0", seed=0)
    make_run(work, "p/s1", seed=1)
    result = invoke("--format", "md", "--out", "table.md", "--plot", "bars.png")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and (work / "table.md").read_text().startswith("**Accuracy")
    png = (work / "bars.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert not list(work.glob(".*.tmp*"))


def test_plot_without_matplotlib_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    with pytest.raises(AmuseError, match=r"pip install 'amuse\[plot\]'"):
        plotting.require_matplotlib()


def test_no_runs_is_one_line_exit_2(work):
    proc = subprocess.run([sys.executable, "-m", "amuse_cli", "report"], capture_output=True, text=True,
                          cwd=work)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "amuse eval" in proc.stderr
    result = invoke("checkpoints/nowhere")
    assert result.exit_code == 2 and "does not exist" in result.stderr
    make_run(work, "deep/a/b/c")                  # found at any depth; other splits are not
    assert invoke("--split", "val").exit_code == 2
    assert "deep/a/b/c" in invoke().stdout
    assert invoke("--format", "yaml").exit_code == 2


def test_bad_metrics_header_is_one_line_naming_file_and_fix(work):
    run = make_run(work, "bad/m")
    (run / "metrics-test.json").write_text(json.dumps({"trained_on": ["synthetic", "json/avqa-train.json"]}))
    result = invoke()
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "metrics-test.json: trained_on" in result.stderr and "amuse eval" in result.stderr


def test_bad_prediction_line_names_file_and_line(work):
    run = make_run(work, "bad/a")
    with open(run / "predictions-test.jsonl", "a") as f:
        f.write('{"group": "Audio"}\n')
    result = invoke()
    assert result.exit_code == 2 and "predictions-test.jsonl:131" in result.stderr and "prediction" in result.stderr
    lines = (run / "predictions-test.jsonl").read_text().splitlines()
    lines[-1] = lines[0].replace('"Audio"', '"Sound"')
    (run / "predictions-test.jsonl").write_text("\n".join(lines) + "\n")
    result = invoke()
    assert result.exit_code == 2 and ":131: unknown question type Sound/Counting" in result.stderr


def test_metrics_file_that_disagrees_is_flagged(work):
    from amuse_cli.data.metrics import cells_from_predictions

    run = make_run(work, "m/a")
    preds = [json.loads(x) for x in (run / "predictions-test.jsonl").read_text().splitlines()]
    metrics = {"split": "test", "benchmark": "synthetic", "questions": 130, "cells": cells_from_predictions(preds)}
    (run / "metrics-test.json").write_text(json.dumps(metrics))
    assert "note:" not in invoke().stderr
    metrics["cells"]["AV-Loc"]["acc"] = 12.0
    (run / "metrics-test.json").write_text(json.dumps(metrics))
    result = invoke("--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["runs"][0]["cells"]["AV-Loc"]["acc"] == 80.0
    assert "metrics-test.json disagrees with its predictions file in AV-Loc" in result.stderr
