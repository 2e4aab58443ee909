"""Published MUSIC-AVQA rows shipped with the package (amuse_cli/reference/results.yaml), and which
of them sit beside a run: chosen by the release of the file the run was evaluated on."""
from __future__ import annotations

from importlib import resources

import yaml

from amuse_cli.data.releases import RELEASES
from amuse_cli.data.taxonomy import COLUMNS

# --reference value -> the `dataset` of its tables in results.yaml
VERSIONS = {"v1": "music-avqa-v1", "v2": "music-avqa-v2", "v2-bias": "music-avqa-v2-bias", "r": "music-avqa-r"}
CHOICES = ("auto", *VERSIONS, "none")
# a run's benchmark (release id, or a bare data.benchmark from runs evaluated before releases were
# recorded) -> the --reference value whose tables compare with it
REFERENCE_OF = {"music-avqa-v1-original": "v1", "music-avqa-v1-updated": "v1", "music-avqa-v1": "v1",
                "music-avqa-v2-balanced": "v2", "music-avqa-v2": "v2", "music-avqa-v2-bias": "v2-bias",
                "music-avqa-r": "r"}


def load_all() -> list[dict]:
    text = (resources.files("amuse_cli") / "reference" / "results.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert tuple(data["columns"]) == COLUMNS, "results.yaml columns must follow taxonomy.COLUMNS"
    return data["tables"]


def published(version: str) -> list[dict]:
    """Tables for one dataset, rows as {"method", "cells": {column: acc or None}}."""
    benchmark = VERSIONS[version]
    out = []
    for table in load_all():
        if table["dataset"] != benchmark:
            continue
        rows = [{"method": r["method"], "cells": dict(zip(COLUMNS, r["values"]))} for r in table["rows"]]
        out.append({**{k: v for k, v in table.items() if k != "rows"}, "rows": rows})
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
    """A published block's second cell: its source, any note, and which test file it used when the
    paper says so (v1 original 9,185 or updated 9,129 questions)."""
    text = f"Source: {table['source']}"
    if table.get("test_file"):
        text += f"; test file: {table['test_file']}"
    if table.get("note"):
        text += f"; {table['note']}"
    return text
