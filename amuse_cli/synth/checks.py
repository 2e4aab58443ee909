"""Checks of a generated set that need no model: the blind majority-answer-per-template baseline."""
from __future__ import annotations

from collections import Counter, defaultdict

from amuse_cli.data.wordings import released_template


def blind_majority_accuracy(train: list[dict], test: list[dict]) -> float:
    """Percent of test questions answered right by the most common train answer of their template
    (the overall most common train answer for a template unseen in train). A rephrased question
    counts under its template, as a prior per template reads it."""
    per_t = defaultdict(Counter)
    for r in train:
        per_t[released_template(r["question_content"])][r["anser"]] += 1
    fallback = Counter(r["anser"] for r in train).most_common(1)[0][0]
    guess = {t: c.most_common(1)[0][0] for t, c in per_t.items()}
    right = sum(guess.get(released_template(r["question_content"]), fallback) == r["anser"] for r in test)
    return 100.0 * right / max(len(test), 1)
