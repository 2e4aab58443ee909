"""Assemble a Report (tables + JSON + side files) from groups of runs, for --by type|template|answer."""
from __future__ import annotations

import csv
import io

from amuse_cli.data.taxonomy import COLUMNS
from amuse_cli.data.metrics import cells_from_predictions
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


def files_caption(rows: list[dict]) -> str:
    """`file avqa-test.json, 9,129 questions` for the files a table's runs were scored on."""
    files = []
    for r in rows:
        files += [f for f in r.get("files", []) if f not in files]
    texts = [f"{f['name']}, {f['questions']:,} questions" if isinstance(f.get("questions"), int) else f["name"]
             for f in files]
    return f"; file {' | '.join(texts)}" if texts else ""


def add_published(table: Table, version: str) -> list[dict]:
    """Published blocks of one --reference version under a table's runs; returns them."""
    pubs = ref.published(version)
    for pub in pubs:
        table.add("section", [f"Published: {pub['title']}", ref.source_line(pub)])
        for p in pub["rows"]:
            table.add("published", [p["method"], "", *(p["cells"][c] for c in COLUMNS)])
    return pubs


def reference_note(reference: str, bench: str, version: str | None) -> str | None:
    """Why no published rows sit beside runs on `bench` (None when nothing needs saying)."""
    if reference in ("none", "auto") and version is None:
        return None
    if version is None:
        return (f"published {ref.VERSIONS[reference]} rows are not shown beside runs on '{bench}' data (the "
                f"release of the file they were evaluated on); they compare only with runs evaluated on "
                f"{ref.VERSIONS[reference]}")
    if not ref.published(version):
        return (f"no published {ref.VERSIONS[version]} rows are shipped (none found with a citable source); "
                f"runs on '{bench}' are shown alone")
    return None


def head_tail_table(groups, split: str) -> Table | None:
    """MUSIC-AVQA-R: accuracy on the head (frequent-answer) and tail (rare-answer) questions."""
    rows = [r for r in (tables.head_tail_row(g) for g in groups) if r]
    if not rows:
        return None
    table = Table(f"MUSIC-AVQA-R head / tail accuracy (%), {split} split", ["Run", "Head", "Tail", "Head n", "Tail n"])
    for r in rows:
        table.add("run", [r["name"], r["head"], r["tail"], r["head"]["n"], r["tail"]["n"]])
    for labels in dict.fromkeys(r["labels"] for r in rows):
        table.add("section", ["Head/tail labels", labels])
    return table


def type_report(groups, reference: str = "none", ci: bool = False) -> Report:
    """The papers' table; runs on different releases go to separate tables, never side by side.

    reference: "auto" puts each release's published rows beside it; v1, v2, v2-bias or r only that
    dataset's; "none" none."""
    rows = [tables.type_row(g, ci=ci) for g in groups]
    report = Report([], {"runs": rows})
    split = rows[0]["split"]
    shown = []
    for bench, brows in _by_benchmark(rows).items():
        table = Table(f"Accuracy (%) per question type, {split} split, benchmark: {ref.describe(bench)}"
                      f"{files_caption(brows)}", ["Run", "Seeds", *COLUMNS])
        for r in brows:
            table.add("run", [r["name"], r["seeds"], *(r["cells"][c] for c in COLUMNS)])
        counts = {tuple(r["cells"][c]["n"] for c in COLUMNS) for r in brows}
        for r in (brows if len(counts) > 1 else brows[:1]):  # one footer unless question sets differ
            label = "Questions" if len(counts) == 1 else f"Questions ({r['name']})"
            table.add("footer", [label, "", *(r["cells"][c]["n"] for c in COLUMNS)])
        version = ref.version_for(bench, reference)
        if version:
            shown += [p for p in add_published(table, version) if p not in shown]
        report.tables.append(table)
        note = reference_note(reference, bench, version)
        if note:
            report.notes.append(note)
    extra = head_tail_table(groups, split)
    if extra:
        report.tables.append(extra)
        report.data["head_tail"] = [r for r in (tables.head_tail_row(g) for g in groups) if r]
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
        rep = tables.answer_cells(run)
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
