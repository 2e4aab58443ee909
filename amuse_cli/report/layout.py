"""Assemble a Report (tables + JSON + side files) from groups of runs, for --by type|template|answer."""
from __future__ import annotations

import csv
import io

from amuse_cli.data.taxonomy import COLUMNS
from amuse_cli.metrics import cells_from_predictions
from amuse_cli.report import reference as ref
from amuse_cli.report import tables
from amuse_cli.report.writers import Report, Table


def _by_benchmark(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["benchmark"], []).append(row)
    return out


def stale_metrics(run) -> list[str]:
    """Columns where the run's metrics-<split>.json disagrees with its predictions file."""
    saved = run.metrics.get("cells") or {}
    mine = cells_from_predictions(run.predictions)
    return [c for c in COLUMNS if c in saved and (saved[c].get("n") != mine[c]["n"] or abs(
        (saved[c].get("acc") or 0.0) - (mine[c]["acc"] or 0.0)) > 0.005)]


def type_report(groups, reference: str = "none", ci: bool = False) -> Report:
    """The papers' table; runs on different benchmarks go to separate tables, never side by side."""
    rows = [tables.type_row(g, ci=ci) for g in groups]
    report = Report([], {"runs": rows})
    split = rows[0]["split"]
    shown = []
    for bench, brows in _by_benchmark(rows).items():
        table = Table(f"Accuracy (%) per question type, {split} split, benchmark: {bench}",
                      ["Run", "Seeds", *COLUMNS])
        for r in brows:
            table.add("run", [r["name"], r["seeds"], *(r["cells"][c] for c in COLUMNS)])
        counts = {tuple(r["cells"][c]["n"] for c in COLUMNS) for r in brows}
        for r in (brows if len(counts) > 1 else brows[:1]):  # one footer unless question sets differ
            label = "Questions" if len(counts) == 1 else f"Questions ({r['name']})"
            table.add("footer", [label, "", *(r["cells"][c]["n"] for c in COLUMNS)])
        if reference != "none" and bench == ref.VERSIONS[reference]:
            for pub in ref.published(reference):
                table.add("section", [f"Published: {pub['title']}", f"Source: {pub['source']}" + (f"; {pub['note']}" if pub.get("note") else "")])
                for p in pub["rows"]:
                    table.add("published", [p["method"], "", *(p["cells"][c] for c in COLUMNS)])
                shown.append(pub)
        report.tables.append(table)
        if reference != "none" and bench != ref.VERSIONS[reference]:
            report.notes.append(f"published {ref.VERSIONS[reference]} rows are not shown beside runs on "
                                f"'{bench}' data (their data.benchmark); they compare only with runs "
                                f"evaluated on {ref.VERSIONS[reference]}")
    for run in (r for g in groups for r in g):
        bad = stale_metrics(run)
        if bad:
            report.notes.append(f"{run.path}/metrics-{run.split}.json disagrees with its predictions file in "
                                f"{', '.join(bad)}; the table uses the predictions (re-run `amuse eval {run.path}`)")
    if shown:
        report.data["reference"] = shown
    return report


def template_report(groups) -> Report:
    rows = [tables.template_row(g) for g in groups]
    names = [r["name"] for r in rows]
    order: dict[str, dict] = {}
    for r in rows:
        for t, cell in r["templates"].items():
            order.setdefault(t, cell)
    order = dict(sorted(order.items(), key=lambda kv: (COLUMNS.index(kv[1]["column"]),
                                                      tables.TEMPLATE_IDS.get(kv[0], 99))))
    table = Table(f"Accuracy (%) per template, {rows[0]['split']} split", ["Template", "Type", "n", *names])
    for t, first in order.items():
        table.add("run", [t, first["column"], first["n"], *(r["templates"].get(t) for r in rows)])
    return Report([table], {"runs": rows})


def confusion_csv(labels: list[str], matrix: list[list[int]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["true \\ predicted", *labels])
    for label, counts in zip(labels, matrix):
        w.writerow([label, *counts])
    return buf.getvalue()


def answer_report(groups) -> Report:
    """Per run folder (seeds are not pooled): per-answer P/R/F1 and confusion CSVs in <run>/report/."""
    report = Report([], {"runs": []})
    for run in (r for g in groups for r in g):
        rep = tables.answer_report(run)
        table = Table(f"Per-answer precision, recall, F1 (%), {run.split} split: {run.name}",
                      ["Answer", "Precision", "Recall", "F1", "Support"])
        for a, m in rep["answers"].items():
            table.add("run", [a, m["precision"], m["recall"], m["f1"], m["support"]])
        table.add("footer", ["Questions", "", "", "", len(run.predictions)])
        report.tables.append(table)
        rep["confusion_csv"] = {}
        for col, cm in rep["confusion"].items():
            path = run.path / "report" / f"confusion-{run.split}-{col}.csv"
            report.files[path] = confusion_csv(cm["labels"], cm["matrix"])
            rep["confusion_csv"][col] = str(path)
        report.data["runs"].append(rep)
    return report


def make_report(groups, by: str = "type", reference: str = "none", ci: bool = False) -> Report:
    if by == "template":
        report = template_report(groups)
    elif by == "answer":
        report = answer_report(groups)
    else:
        return type_report(groups, reference, ci)
    if reference != "none" or ci:
        report.notes.append(f"--reference and --ci apply to the per-type table; ignored with --by {by}")
    return report
