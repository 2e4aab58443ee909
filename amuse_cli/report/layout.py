"""Assemble a Report (tables + JSON + side files) from groups of runs, for --by type|template|answer."""
from __future__ import annotations

import csv
import io

from amuse_cli.data.releases import RELEASES
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


def add_published(table: Table, version: str, release: str | None = None) -> list[dict]:
    """Published per-type blocks of one --reference version under a table's runs; returns them."""
    pubs = ref.published(version, release)
    for pub in pubs:
        table.add("section", [f"Published: {pub['title']}", ref.source_line(pub)])
        for p in pub["rows"]:
            table.add("published", [p["method"], "", *(p["cells"][c] for c in COLUMNS)])
    return pubs


def shipped(version: str) -> bool:
    """Any published rows of any kind for this --reference version."""
    return any(ref.published(version, kind=kind) for kind in ref.KIND_COLUMNS)


def reference_note(reference: str, bench: str, version: str | None) -> str | None:
    """Why no published rows sit beside runs on `bench` (None when nothing needs saying)."""
    if reference in ("none", "auto") and version is None:
        return None
    if version is None:
        return (f"published {ref.VERSIONS[reference]} rows are not shown beside runs on '{bench}' data (the "
                f"release of the file they were evaluated on); they compare only with runs evaluated on "
                f"{ref.VERSIONS[reference]}")
    if not shipped(version):
        return (f"no published {ref.VERSIONS[version]} rows are shipped (none found with a citable source); "
                f"runs on '{bench}' are shown alone")
    return None


def family(benchmark: str | None) -> str | None:
    """music-avqa-v1-updated -> music-avqa-v1 (a release's benchmark family); anything else as is."""
    return RELEASES[benchmark][0] if benchmark in RELEASES else benchmark


def trained_elsewhere(row: dict) -> bool:
    """The run's training data differs from the benchmark it was scored on (e.g. v1 -> v2.0 test)."""
    trained, scored = row.get("trained_on"), row["benchmark"]
    if not trained or trained == scored:
        return False
    if trained in RELEASES and scored in RELEASES:
        return True
    return family(trained) != family(scored)


def run_label(row: dict) -> str:
    """The run's name; `(trained on X)` where that is not the benchmark scored; `*` for a run scored
    on a part of the released test file."""
    text = row["name"] + (f" (trained on {row['trained_on']})" if trained_elsewhere(row) else "")
    return text + (" *" if row.get("complete") is False else "")


def add_footers(table: Table, rows: list[dict]) -> None:
    """Question counts, and the questions skipped for a missing video (counted wrong), per column."""
    for key, label in (("cells", "Questions"), ("skipped", "Skipped (no video; counted wrong)")):
        counts = {tuple(_count(r[key].get(c)) for c in COLUMNS) for r in rows}
        if key == "skipped" and not any(any(c) for c in counts):
            continue
        for r in (rows if len(counts) > 1 else rows[:1]):  # one footer unless the runs differ
            table.add("footer", [label if len(counts) == 1 else f"{label} ({r['name']})", "",
                                 *(_count(r[key].get(c)) for c in COLUMNS)])


def _count(cell) -> int:
    return cell["n"] if isinstance(cell, dict) else int(cell or 0)


def subset_note(table: Table, rows: list[dict]) -> None:
    parts = [r for r in rows if r.get("complete") is False]
    if parts:
        files = "; ".join(f"{r['name']}: {f['name']}, {f['questions']:,} questions" for r in parts
                          for f in r.get("files", []) if isinstance(f.get("questions"), int))
        table.add("section", ["* A part of the released test file", f"{files}; published rows score the whole "
                              f"file, so these figures do not compare with them number for number"])


def head_tail_table(groups, split: str, reference: str) -> tuple[Table | None, list[dict], list[dict]]:
    """MUSIC-AVQA-R: head (frequent-answer) and tail (rare-answer) accuracy per type, as the -R table
    prints it, beside the published -R rows; (table, its rows, the published tables shown)."""
    rows = [r for r in (tables.head_tail_row(g) for g in groups) if r]
    if not rows:
        return None, [], []
    header = ["Run", *ref.HEAD_TAIL_COLUMNS, "Head", "Tail"]
    table = Table(f"MUSIC-AVQA-R head (H) / tail (T) accuracy (%) per type, {split} split", header)
    for r in rows:
        table.add("run", [r["name"], *(r["cells"][c] for c in ref.HEAD_TAIL_COLUMNS), r["head"], r["tail"]])
    table.add("footer", ["Questions", *(rows[0]["cells"][c]["n"] for c in ref.HEAD_TAIL_COLUMNS),
                         rows[0]["head"]["n"], rows[0]["tail"]["n"]])
    for labels in dict.fromkeys(r["labels"] for r in rows):
        table.add("section", ["Head/tail labels", labels])
    pubs = ref.published("r", kind="head_tail") if ref.version_for("music-avqa-r", reference) else []
    for pub in pubs:
        table.add("section", [f"Published: {pub['title']}", ref.source_line(pub)])
        for p in pub["rows"]:
            table.add("published", [p["method"], *(p["cells"][c] for c in ref.HEAD_TAIL_COLUMNS), None, None])
    return table, rows, pubs


GROUP_CELLS = dict(zip(ref.GROUPED_COLUMNS, ("A-Avg", "V-Avg", "AV-Avg", "Avg")))


def grouped_table(bench: str, rows: list[dict], version: str | None) -> tuple[Table, list[dict]]:
    """v2.0 bias or balanced test: the runs' group averages beside the published grouped rows of the
    same test set, each with its training set; (table, the published tables shown)."""
    test_set = ref.V2_SET[bench]
    table = Table(f"MUSIC-AVQA v2.0 {test_set} test set, group averages (%)",
                  ["Run", "Test set", "Trained on", *ref.GROUPED_COLUMNS])
    for r in rows:
        trained = ref.V2_SET.get(r.get("trained_on"), r.get("trained_on") or "?")
        table.add("run", [run_label({**r, "trained_on": None}), test_set, trained,
                          *(r["cells"][GROUP_CELLS[c]] for c in ref.GROUPED_COLUMNS)])
    pubs = ref.published(version, kind="grouped") if version else []
    for pub in pubs:
        table.add("section", [f"Published: {pub['title']}", ref.source_line(pub)])
        for p in pub["rows"]:
            table.add("published", [p["method"], p["test_set"], p["trained_on"],
                                    *(p["cells"][c] for c in ref.GROUPED_COLUMNS)])
    return table, pubs


def type_report(groups, reference: str = "none", ci: bool = False) -> Report:
    """The papers' table; runs on different releases go to separate tables, never side by side, each
    beside the published rows of its own release (with their source), v2.0 runs also beside the
    grouped bias/balanced rows and -R runs beside the head/tail rows.

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
            table.add("run", [run_label(r), r["seeds"], *(r["cells"][c] for c in COLUMNS)])
        add_footers(table, brows)
        subset_note(table, brows)
        version = ref.version_for(bench, reference)
        if version:
            shown += [p for p in add_published(table, version, bench) if p not in shown]
        report.tables.append(table)
        if bench in ref.V2_SET:
            grouped, pubs = grouped_table(bench, brows, version)
            report.tables.append(grouped)
            shown += [p for p in pubs if p not in shown]
        note = reference_note(reference, bench, version)
        if note:
            report.notes.append(note)
    extra, ht_rows, pubs = head_tail_table(groups, split, reference)
    if extra:
        report.tables.append(extra)
        report.data["head_tail"] = ht_rows
        shown += [p for p in pubs if p not in shown]
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


def wording_report(groups) -> Report:
    """Accuracy per wording (template / seen / unseen rephrasing / free text) and the unseen-minus-
    template gap per run, then per template and wording."""
    rows = [tables.wording_row(g) for g in groups]
    kinds = [k for k in tables.WORDINGS if any(k in r["wordings"] for r in rows)]
    split = rows[0]["split"]
    table = Table(f"Accuracy (%) per wording, {split} split", ["Run", *kinds, "unseen - template"])
    for r in rows:
        w = r["wordings"]
        gap = round(w["unseen"]["acc"] - w["template"]["acc"], 2) if "unseen" in w and "template" in w else None
        table.add("run", [r["name"], *(w.get(k) for k in kinds), gap])
    table.add("footer", ["Questions", *(rows[0]["wordings"].get(k, {}).get("n", 0) for k in kinds), ""])
    per = Table(f"Accuracy (%) per template and wording, {split} split",
                ["Template", *(f"{k} ({r['name']})" if len(rows) > 1 else k for r in rows for k in kinds)])
    order = dict.fromkeys(t for r in rows for t in r["templates"])
    for t in sorted(order, key=lambda t: tables.TEMPLATE_IDS.get(t, 99)):
        per.add("run", [t, *(r["templates"].get(t, {}).get(k) for r in rows for k in kinds)])
    return Report([table, per], {"runs": rows})


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
    elif by == "wording":
        report = wording_report(groups)
    else:
        return type_report(groups, reference, ci)
    if reference != "none" or ci:
        report.notes.append(f"--reference and --ci apply to the per-type table; ignored with --by {by}")
    return report
