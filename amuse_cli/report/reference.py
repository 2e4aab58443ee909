"""Published MUSIC-AVQA rows shipped with the package (amuse_cli/reference/results.yaml), and which
of them sit beside a run: chosen by the release of the file the run was evaluated on.

Three kinds of table: the papers' per-type table (13 columns), MUSIC-AVQA-R's head/tail table
(head and tail accuracy per type, Avg over the whole -R test) and v2.0's grouped table (group
averages, each row with its test set and training set, bias or balanced).
"""
from __future__ import annotations

from importlib import resources

import yaml

from amuse_cli.data.releases import RELEASED_TEST_QUESTIONS, RELEASES
from amuse_cli.data.taxonomy import COLUMNS, TYPES, type_column

# --reference value -> the `dataset` of its tables in results.yaml
VERSIONS = {"v1": "music-avqa-v1", "v2": "music-avqa-v2", "v2-bias": "music-avqa-v2-bias", "r": "music-avqa-r"}
CHOICES = ("auto", *VERSIONS, "none")
# a run's benchmark (release id, or a bare data.benchmark from runs evaluated before releases were
# recorded) -> the --reference value whose tables compare with it
REFERENCE_OF = {"music-avqa-v1-original": "v1", "music-avqa-v1-updated": "v1", "music-avqa-v1": "v1",
                "music-avqa-v2-balanced": "v2", "music-avqa-v2": "v2", "music-avqa-v2-bias": "v2-bias",
                "music-avqa-r": "r"}
TYPE_COLUMNS = tuple(type_column(g, t) for g, t in TYPES)
HEAD_TAIL_COLUMNS = tuple(f"{c} {part}" for c in TYPE_COLUMNS for part in ("H", "T")) + ("Avg",)
GROUPED_COLUMNS = ("A-QA", "V-QA", "AV-QA", "Avg")
KIND_COLUMNS = {"types": COLUMNS, "head_tail": HEAD_TAIL_COLUMNS, "grouped": GROUPED_COLUMNS}
# v2.0's two sets as the grouped table names them: --reference value / release id -> test or training set
V2_SET = {"v2": "balanced", "v2-bias": "bias", "music-avqa-v2-balanced": "balanced", "music-avqa-v2-bias": "bias"}
V1_UNSAID = ("the paper does not say whether it used the original (9,185 questions) or the updated (9,129) v1 "
             "test file: these rows sit beside runs on either")


def load_all() -> list[dict]:
    text = (resources.files("amuse_cli") / "reference" / "results.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert tuple(data["columns"]) == COLUMNS, "results.yaml columns must follow taxonomy.COLUMNS"
    for table in data["tables"]:
        kind = table.setdefault("kind", "types")
        columns = tuple(table.get("columns", data["columns"]))
        assert columns == KIND_COLUMNS[kind], f"results.yaml {table['id']}: columns must be {KIND_COLUMNS[kind]}"
        table["columns"] = list(columns)
    return data["tables"]


def _with_cells(table: dict) -> dict:
    rows = [{**{k: v for k, v in r.items() if k != "values"}, "cells": dict(zip(table["columns"], r["values"]))}
            for r in table["rows"]]
    return {**{k: v for k, v in table.items() if k != "rows"}, "rows": rows}


def published(version: str, release: str | None = None, kind: str = "types") -> list[dict]:
    """Tables of one --reference version and kind, rows as {"method", "cells": {column: acc or None}, ...}.
    A table naming the `release` it was published on is left out beside runs of another release."""
    benchmark = VERSIONS[version]
    out = []
    for table in load_all():
        if table["kind"] != kind:
            continue
        if kind == "grouped":       # one table for both v2.0 sets: its rows on this version's test set
            if version not in ("v2", "v2-bias") or table["dataset"] != VERSIONS["v2"]:
                continue
            table = {**table, "rows": [r for r in table["rows"] if r["test_set"] == V2_SET[version]]}
        elif table["dataset"] != benchmark:
            continue
        if release and table.get("release") and table["release"] != release:
            continue
        out.append(_with_cells(table))
    return out


def version_for(benchmark: str, reference: str) -> str | None:
    """The tables to show beside runs on `benchmark` under --reference `reference` (None: none)."""
    mine = REFERENCE_OF.get(benchmark)
    if reference == "none" or mine is None:
        return None
    return mine if reference in ("auto", mine) else None


def describe(benchmark: str) -> str:
    """A benchmark as a table title names it: the release id and what it is."""
    if benchmark in RELEASES and RELEASES[benchmark][0] != benchmark:
        return f"{benchmark} ({RELEASES[benchmark][1]})"
    return benchmark


def source_line(table: dict) -> str:
    """A published block's second cell: its source, any note, and which test file it used (the v1
    original with 9,185 questions or the updated with 9,129) or that the paper does not say."""
    text = f"Source: {table['source']}"
    if table.get("release"):
        text += f"; test file: {table['release']} ({RELEASED_TEST_QUESTIONS[table['release']]:,} questions)"
    elif table["dataset"] == VERSIONS["v1"]:
        text += f"; {V1_UNSAID}"
    if table.get("note"):
        text += f"; {table['note']}"
    return text
