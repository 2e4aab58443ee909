"""The published rows shipped in amuse_cli/reference/results.yaml equal the cited tables, number for number."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from amuse_cli.data.taxonomy import COLUMNS
from amuse_cli.report import reference

RESULTS_MD = Path(__file__).resolve().parents[2] / "shared" / "reference" / "results.md"
SECTION_TO_ID = {"Table 2": "amuse-table2", "Table 3": "amuse-table3", "Table 4": "amuse-table4",
                 "QA-TIGER": "qa-tiger"}


def markdown_tables() -> dict[str, list[tuple[str, list]]]:
    """results.md sections -> rows (method, 13 values as text; '–' and the APL typo as None)."""
    out = {}
    for section in RESULTS_MD.read_text(encoding="utf-8").split("\n## ")[1:]:
        heading = section.splitlines()[0]
        key = next((v for k, v in SECTION_TO_ID.items() if k in heading), None)
        if key is None:
            continue  # the released-code log is not a paper table
        rows = []
        for line in section.splitlines():
            cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
            if len(cells) == 14 and re.fullmatch(r"\d+\.\d\d", cells[1]):
                rows.append((cells[0], [float(v) if re.fullmatch(r"\d+\.\d\d", v) else None for v in cells[1:]]))
        out[key] = rows
    return out


def test_shipped_rows_equal_results_md():
    if not RESULTS_MD.is_file():
        pytest.skip(f"{RESULTS_MD} not found")
    expected = markdown_tables()
    shipped = {t["id"]: t for t in reference.load_all()}
    assert set(shipped) == set(expected) == set(SECTION_TO_ID.values())
    for tid, rows in expected.items():
        got = [(r["method"], r["values"]) for r in shipped[tid]["rows"]]
        assert got == rows, tid
    assert sum(len(r) for r in expected.values()) == 7 + 5 + 5 + 16


def test_each_table_cites_its_source_and_dataset():
    tables = {t["id"]: t for t in reference.load_all()}
    assert {t["dataset"] for t in tables.values()} == {"music-avqa-v1", "music-avqa-v2"}
    for t in tables.values():
        assert t["source"] and t["title"] and t["split"] == "test"
    assert "Table 3" in tables["amuse-table3"]["source"] and tables["amuse-table3"]["dataset"] == "music-avqa-v2"
    v2 = reference.published("v2")
    assert [t["id"] for t in v2] == ["amuse-table3"]
    amuse = next(r for r in v2[0]["rows"] if r["method"] == "Amuse")
    assert list(amuse["cells"]) == list(COLUMNS) and amuse["cells"]["Avg"] == 85.16
    assert [t["id"] for t in reference.published("v1")] == ["amuse-table2", "amuse-table4", "qa-tiger"]
