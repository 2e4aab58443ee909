"""Accuracy in the papers' layout: nine types, three groups, overall, micro-averaged over questions.

A group average is (correct in the group) / (questions in the group), never a mean of its types'
accuracies; the overall average likewise over every question.
"""
from __future__ import annotations

from collections.abc import Iterable

from amuse_cli.data.taxonomy import COLUMNS, GROUPS, TYPES, group_column, type_column


def accuracy_cells(rows: Iterable[tuple[str, str, bool]]) -> dict[str, dict]:
    """(group, type, correct) per question -> {column: {"acc": percent or None, "n", "correct"}}."""
    counts = {c: [0, 0] for c in COLUMNS}  # column -> [correct, n]
    for group, qtype, correct in rows:
        for col in (type_column(group, qtype), group_column(group), "Avg"):
            counts[col][0] += int(bool(correct))
            counts[col][1] += 1
    return {c: {"acc": round(100.0 * k / n, 4) if n else None, "n": n, "correct": k}
            for c, (k, n) in counts.items()}


def cells_from_predictions(preds: Iterable[dict]) -> dict[str, dict]:
    """Cells from prediction records holding `group`, `type`, `answer` and `prediction`."""
    return accuracy_cells((p["group"], p["type"], p["prediction"] == p["answer"]) for p in preds)


__all__ = ["accuracy_cells", "cells_from_predictions", "COLUMNS", "GROUPS", "TYPES"]
