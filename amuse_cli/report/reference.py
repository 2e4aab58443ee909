"""Published MUSIC-AVQA rows shipped with the package (amuse_cli/reference/results.yaml)."""
from __future__ import annotations

from importlib import resources

import yaml

from amuse_cli.data.taxonomy import COLUMNS

VERSIONS = {"v1": "music-avqa-v1", "v2": "music-avqa-v2"}  # --reference value -> data.benchmark


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
