"""The wording stage of `amuse synth`: each question is asked by its template or by one of its
hand-written rephrasings (amuse_cli/data/wordings.py), so a model can be trained on some wordings and
tested on others it never saw.

`--wording templates`: the 33 templates verbatim, no random draw (the classic world's files, byte for
byte). `--wording mixed`: in train and val half the questions keep their template and half take one
of its seen rephrasings; in test a third each: template, seen rephrasing, unseen rephrasing. Draws
come from the video's own WORDING stream (scene.Stream), so wording shifts no other random choice:
questions, answers and splits are those of `--wording templates`, only `question_content` differs.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from amuse_cli.data.taxonomy import TEMPLATES_RAW
from amuse_cli.data.wordings import (FREE, REPHRASINGS, SEEN, TEMPLATE, UNSEEN, recognise, rephrasings,
                                     unseen_only_words)
from amuse_cli.errors import AmuseError

# Share of each wording per split.
MIXES = {
    "templates": {s: {TEMPLATE: 1.0} for s in ("train", "val", "test")},
    "mixed": {"train": {TEMPLATE: 1 / 2, SEEN: 1 / 2},
              "val": {TEMPLATE: 1 / 2, SEEN: 1 / 2},
              "test": {TEMPLATE: 1 / 3, SEEN: 1 / 3, UNSEEN: 1 / 3}},
}
_INDEX = {t: i for i, (t, _, _) in enumerate(TEMPLATES_RAW)}


def check_mix(mix: str) -> None:
    if mix not in MIXES:
        raise AmuseError(f"--wording {mix}: give one of {', '.join(MIXES)}")


def word_questions(records: list[dict], split: str, mix: str, rng: np.random.Generator) -> list[dict]:
    """Reword one video's records of `split` in place (and return them). Two uniform draws per
    question whatever it gets, so one question's wording never moves another's."""
    shares = MIXES[mix][split]
    if set(shares) == {TEMPLATE}:
        return records
    kinds = list(shares)
    edges = np.cumsum([shares[k] for k in kinds])
    for r in records:
        pick_kind, pick_text = rng.random(), rng.random()
        kind = kinds[min(int(np.searchsorted(edges, pick_kind, side="right")), len(kinds) - 1)]
        if kind != TEMPLATE:
            options = rephrasings(_INDEX[r["question_content"]], kind)
            r["question_content"] = options[int(pick_text * len(options))].text
    return records


def wording_counts(files: dict[str, list[dict]]) -> dict:
    """Questions per split and wording, and how many distinct rephrasings were asked."""
    per_split = {s: Counter(_kind(r["question_content"]) for r in recs) for s, recs in files.items()}
    asked = {r["question_content"] for recs in files.values() for r in recs}
    return {"questions": {s: {k: c[k] for k in (TEMPLATE, SEEN, UNSEEN, FREE) if c[k]} for s, c in per_split.items()},
            "rephrasings_asked": sum(recognise(t) is not None for t in asked)}


def summary_line(mix: str, files: dict[str, list[dict]]) -> str:
    """One line for `amuse synth --dry-run`: questions per split and wording."""
    counts = wording_counts(files)
    per_split = "; ".join(f"{s} " + " / ".join(f"{n} {k}" for k, n in c.items())
                          for s, c in counts["questions"].items() if c)
    return f"wording {mix}: {per_split} ({counts['rephrasings_asked']} distinct rephrasings)"


def _kind(text: str) -> str:
    r = recognise(text)
    return r.kind if r else TEMPLATE if text in _INDEX else FREE


def card_section(mix: str, counts: dict) -> list[str]:
    """The dataset card's section on wording (synth/card.py)."""
    shares = MIXES[mix]
    n_seen = sum(r.kind == SEEN for r in REPHRASINGS)
    lines = ["## Wording", "",
             f"`--wording {mix}`: " + "; ".join(
                 f"{s}: " + ", ".join(f"{round(100 * p)}% {k}" for k, p in shares[s].items()) for s in shares) + ".",
             f"Rephrasings are written by hand (`amuse_cli/data/wordings.py`, {n_seen} seen and "
             f"{len(REPHRASINGS) - n_seen} unseen, at least 6 per template); an unseen one is asked in test "
             "only and uses words no training question uses: " + ", ".join(unseen_only_words()) + ". "
             "The record keeps the MUSIC-AVQA format (question_content is the rephrasing, placeholders "
             "filled by templ_values as usual); the loader reads it as its template and keeps its wording "
             "(`amuse stats` counts them).", "",
             "| split | template | seen | unseen |", "|---|---:|---:|---:|",
             *[f"| {s} | {c.get(TEMPLATE, 0)} | {c.get(SEEN, 0)} | {c.get(UNSEEN, 0)} |"
               for s, c in counts["questions"].items()],
             "", f"Distinct rephrasings asked: {counts['rephrasings_asked']}.", ""]
    return lines
