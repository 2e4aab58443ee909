"""The published rows shipped in amuse_cli/reference/results.yaml equal the cited tables, number for
number: the per-type tables, MUSIC-AVQA-R's head/tail table and v2.0's grouped bias/balanced table.

They are checked against tests/data/reference/results.md, a copy of ../shared/reference/results.md
(so `make test` needs no ../shared), and against the original too when ../shared is beside the checkout.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from amuse_cli.data.taxonomy import COLUMNS
from amuse_cli.report import reference

REPO = Path(__file__).resolve().parents[1]
RESULTS_MD = REPO / "tests" / "data" / "reference" / "results.md"
SHARED_MD = REPO.parent / "shared" / "reference" / "results.md"
MD_FILES = [RESULTS_MD] + [SHARED_MD] * SHARED_MD.is_file()      # the original too, when it is beside us
SECTION_TO_ID = {"Table 2": "amuse-table2", "Table 3": "amuse-table3", "Table 4": "amuse-table4",
                 "QA-TIGER": "qa-tiger", "MUSIC-AVQA-R test": "r-head-tail", "v2.0 bias and balanced": "v2-grouped"}
NUMBER = re.compile(r"\d+\.\d\d")


def _value(text: str) -> float | None:
    return float(text) if NUMBER.fullmatch(text) else None     # '–' and the APL typo are None


def markdown_tables(path: Path = RESULTS_MD) -> dict[str, list[tuple]]:
    """results.md sections -> rows: (method, values) for per-type and -R tables, (test set, trained on,
    method, values) for the v2.0 grouped table; values as printed."""
    out = {}
    for section in path.read_text(encoding="utf-8").split("\n## ")[1:]:
        heading = section.splitlines()[0]
        key = next((v for k, v in SECTION_TO_ID.items() if k in heading), None)
        if key is None:
            continue  # the released-code log is not a paper table
        width = {"r-head-tail": 20, "v2-grouped": 7}.get(key, 14)
        rows = []
        for line in section.splitlines():
            cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
            if len(cells) != width:
                continue
            if key == "v2-grouped" and NUMBER.fullmatch(cells[3]):
                rows.append((cells[0], cells[1], cells[2], [_value(v) for v in cells[3:]]))
            elif key != "v2-grouped" and NUMBER.fullmatch(cells[1]):
                rows.append((cells[0], [_value(v) for v in cells[1:]]))
        out[key] = rows
    return out


@pytest.mark.parametrize("md", MD_FILES, ids=lambda p: "copy" if p == RESULTS_MD else "shared")
def test_shipped_rows_equal_results_md(md):
    expected = markdown_tables(md)
    shipped = {t["id"]: t for t in reference.load_all()}
    assert set(shipped) == set(expected) == set(SECTION_TO_ID.values())
    for tid, rows in expected.items():
        if tid == "v2-grouped":
            got = [(r["test_set"], r["trained_on"], r["method"], r["values"]) for r in shipped[tid]["rows"]]
        else:
            got = [(r["method"], r["values"]) for r in shipped[tid]["rows"]]
        assert got == rows, tid
    assert sum(len(r) for r in expected.values()) == 7 + 5 + 5 + 16 + 13 + 16


def test_each_table_cites_its_source_and_dataset():
    tables = {t["id"]: t for t in reference.load_all()}
    assert {t["dataset"] for t in tables.values()} == {"music-avqa-v1", "music-avqa-v2", "music-avqa-r"}
    for t in tables.values():
        assert t["source"] and t["title"] and t["split"] == "test"
    assert "Table 3" in tables["amuse-table3"]["source"] and tables["amuse-table3"]["dataset"] == "music-avqa-v2"
    assert "504581c" in tables["r-head-tail"]["source"] and "504581c" in tables["v2-grouped"]["source"]
    v2 = reference.published("v2")
    assert [t["id"] for t in v2] == ["amuse-table3"]
    amuse = next(r for r in v2[0]["rows"] if r["method"] == "Amuse")
    assert list(amuse["cells"]) == list(COLUMNS) and amuse["cells"]["Avg"] == 85.16
    assert [t["id"] for t in reference.published("v1")] == ["amuse-table2", "amuse-table4", "qa-tiger"]
    assert reference.published("v2-bias") == [] and reference.published("r") == []


def test_head_tail_and_grouped_rows_by_test_set():
    (r,) = reference.published("r", kind="head_tail")
    tiger = next(row for row in r["rows"] if row["method"] == "QA-TIGER")
    assert list(tiger["cells"]) == list(reference.HEAD_TAIL_COLUMNS)
    assert tiger["cells"]["A-Count H"] == 82.67 and tiger["cells"]["AV-Temp T"] == 62.96
    assert tiger["cells"]["Avg"] == 67.99
    (bias,) = reference.published("v2-bias", kind="grouped")
    (balanced,) = reference.published("v2", kind="grouped")
    assert {row["test_set"] for row in bias["rows"]} == {"bias"} and len(bias["rows"]) == 8
    assert {row["test_set"] for row in balanced["rows"]} == {"balanced"} and len(balanced["rows"]) == 8
    lavish = next(row for row in bias["rows"] if row["method"] == "LAVisH" and row["trained_on"] == "bias")
    assert lavish["cells"] == {"A-QA": 76.73, "V-QA": 80.96, "AV-QA": 70.80, "Avg": 74.59}
    assert reference.published("v1", kind="grouped") == []


def test_v1_captions_say_the_paper_names_no_test_file():
    for table in reference.published("v1"):
        assert "does not say whether it used the original (9,185" in reference.source_line(table)
    one = {**reference.published("v1")[0], "release": "music-avqa-v1-updated"}
    assert "test file: music-avqa-v1-updated (9,129 questions)" in reference.source_line(one)
