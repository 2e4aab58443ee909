"""The synthetic generator's template table: one row per released template, its taxonomy type, and
answerers whose questions fill every placeholder and answer within the template's answer kind."""
from __future__ import annotations

import re
from collections import Counter

import pytest

from amuse_cli.data.taxonomy import (ANSWERS, INSTRUMENTS, NUMBERS, PLACEHOLDERS, TEMPLATES_RAW,
                                     normalize_template, type_column)
from amuse_cli.synth.questions import TABLE, Context, T, candidates
from amuse_cli.synth.scene import Stream, sample_scene, video_rng

POSITIONS = {"left", "middle", "right"}


def _answer_kind(text: str) -> set[str]:
    """The answers a template can have, read off its wording alone."""
    if text.startswith(("Is ", "Are ")):
        return {"yes", "no"}
    if text.startswith("How many"):
        return set(NUMBERS)
    if text == "Where is the performance?":
        return {"indoor", "outdoor"}
    if text.startswith("Where is"):
        return POSITIONS
    if text == "Which <Object> makes the sound <FL>?":
        return POSITIONS | {"simultaneously"}
    return set(INSTRUMENTS)


@pytest.fixture(scope="module")
def scenes():
    """Contexts of 180 scenes from the real sampler: 3 seeds, 4 s and 12 s clips."""
    return [(seed, i, Context(sample_scene(seed, i, (4.0, 12.0)[i % 2], 4, (96, 64), 16000),
                              video_rng(seed, i, Stream.QUESTIONS)))
            for seed in (0, 1, 2) for i in range(60)]


def test_every_released_template_has_exactly_one_row():
    assert len(TABLE) == len(TEMPLATES_RAW)
    assert Counter(T[row.index] for row in TABLE) == Counter(t for t, _, _ in TEMPLATES_RAW)
    for row in TABLE:
        assert row.text == normalize_template(TEMPLATES_RAW[row.index][0])


def test_rows_carry_the_taxonomy_type_and_unique_names():
    for row in TABLE:
        _, group, qtype = TEMPLATES_RAW[row.index]
        assert row.column == type_column(group, qtype), row.name
    names = [row.name for row in TABLE]
    assert len(set(names)) == len(names) and all(n.isidentifier() for n in names)


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.name)
def test_answerer_fills_every_placeholder_and_answers_within_its_kind(row, scenes):
    slots = re.findall(r"<[A-Za-z]+>", row.text)
    kind = _answer_kind(row.text)
    asked = 0
    for seed, i, sc in scenes:
        given = {}
        for values, answer in row.ask(sc):
            asked += 1
            assert isinstance(values, tuple) and len(values) == len(slots), (seed, i, values)
            assert all(v in PLACEHOLDERS[s] for s, v in zip(slots, values)), (seed, i, values)
            assert answer in ANSWERS and answer in kind, (seed, i, values, answer)
            assert given.setdefault(values, answer) == answer, f"{values} answered two ways"
    assert asked, f"{row.name} asked nothing in {len(scenes)} scenes"


def test_candidates_are_the_rows_answers_in_table_order(scenes):
    """Answerers only read the context (a used one answers as a fresh one does), and candidates adds
    nothing to the table's output: the rows' order is the order `select` shuffles from."""
    for seed, i, sc in scenes[:30]:
        expected = [(row.index, v, a) for row in TABLE for v, a in row.ask(sc)]
        assert candidates(sc.meta, video_rng(seed, i, Stream.QUESTIONS)) == expected
