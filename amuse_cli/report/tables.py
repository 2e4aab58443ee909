"""Numbers of the report, recomputed from predictions files: per type, per template, per answer.

Cells are micro-averages over questions (amuse_cli.data.metrics). Runs of one recipe that differ only
in seed become one row: the mean over seeds, their sample standard deviation, and optionally a 95%
bootstrap interval that resamples questions (the same resampled questions for every seed).
"""
from __future__ import annotations

import numpy as np

from amuse_cli.data.taxonomy import (ANSWERS, COLUMNS, TEMPLATE_IDS, TEMPLATES, TYPES, group_column,
                                     normalize_template, type_column)
from amuse_cli.data.wordings import KINDS as WORDINGS
from amuse_cli.data.wordings import TEMPLATE as TEMPLATE_WORDING
from amuse_cli.errors import AmuseError
from amuse_cli.data.metrics import accuracy_cells, cells_from_predictions

BOOTSTRAP_SAMPLES = 1000     # resamples of the question set for --ci
BOOTSTRAP_SEED = 0           # fixed: the same report twice gives the same interval
CI_LEVEL = 95.0              # percent
_TEMPLATE_TEXT = list(TEMPLATES)  # index (TEMPLATE_IDS order) -> normalized template text
FREE_TEXT = "(free text)"
TYPE_COLUMNS = tuple(type_column(g, t) for g, t in TYPES)


def row_name(runs) -> str:
    if len(runs) == 1:
        return runs[0].name
    return f"{runs[0].recipe} [{runs[0].config_hash}]"


def _same_questions(runs) -> None:
    """Seeds are averaged per question set: every run must hold the same questions in order."""
    first = runs[0].predictions
    for run in runs[1:]:
        if len(run.predictions) != len(first) or any(
                a.get("key") != b.get("key") for a, b in zip(first, run.predictions)):
            raise AmuseError(f"runs {runs[0].name} and {run.name} share a recipe but their "
                             f"predictions-{run.split}.jsonl hold different questions; "
                             f"re-run `amuse eval` on both with the same annotations")


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    std = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return float(np.mean(values)), std


def _membership(preds: list[dict]) -> np.ndarray:
    """[questions, 13] 0/1: the columns each question counts towards (type, group, Avg)."""
    index = {c: i for i, c in enumerate(COLUMNS)}
    m = np.zeros((len(preds), len(COLUMNS)), dtype=np.float32)
    for q, p in enumerate(preds):
        for col in (type_column(p["group"], p["type"]), group_column(p["group"]), "Avg"):
            m[q, index[col]] = 1.0
    return m


def bootstrap_ci(runs, samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED,
                 level: float = CI_LEVEL) -> dict[str, list[float] | None]:
    """Percentile interval of the seed-mean accuracy per column, resampling questions."""
    member = _membership(runs[0].predictions)
    correct = np.array([[p["prediction"] == p["answer"] for p in r.predictions] for r in runs],
                       dtype=np.float32)                                    # [seeds, Q]
    q = member.shape[0]
    rng = np.random.default_rng(seed)
    accs = []
    for start in range(0, samples, 250):  # chunks keep the [B, Q] weight matrix small
        weights = rng.multinomial(q, np.full(q, 1.0 / q), size=min(250, samples - start)).astype(np.float32)
        denom = weights @ member                                            # [B, 13]
        numer = np.stack([weights @ (member * c[:, None]) for c in correct])  # [seeds, B, 13]
        with np.errstate(invalid="ignore", divide="ignore"):
            accs.append((100.0 * numer / denom).mean(axis=0))
    accs = np.concatenate(accs)
    tail = (100.0 - level) / 2
    out = {}
    for j, col in enumerate(COLUMNS):
        vals = accs[:, j][np.isfinite(accs[:, j])]
        out[col] = ([round(float(np.percentile(vals, tail)), 2), round(float(np.percentile(vals, 100 - tail)), 2)]
                    if member[:, j].any() and vals.size else None)
    return out


def type_row(runs, ci: bool = False) -> dict:
    """One table row for a group of runs: {"name", "split", "seeds", "cells": {col: {...}}}."""
    _same_questions(runs)
    per_run = [cells_from_predictions(r.predictions) for r in runs]
    intervals = bootstrap_ci(runs) if ci else {}
    cells = {}
    for col in COLUMNS:
        # from counts, not metrics' 4-decimal acc: rounding twice could move the 2nd decimal
        mean, std = _mean_std([100.0 * c[col]["correct"] / c[col]["n"] if c[col]["n"] else None for c in per_run])
        cell = {"acc": None if mean is None else round(mean, 2), "n": per_run[0][col]["n"]}
        if len(runs) > 1:
            cell["std"] = None if std is None else round(std, 2)
        if ci:
            cell["ci"] = intervals[col]
        cells[col] = cell
    return {"name": row_name(runs), "split": runs[0].split, "seeds": len(runs),
            "benchmark": runs[0].benchmark, "trained_on": runs[0].trained_on, "complete": runs[0].complete,
            "files": evaluated_files(runs), "recipe": runs[0].recipe,
            "seed_values": [r.seed for r in runs], "runs": [r.name for r in runs], "cells": cells,
            "skipped": skipped_counts(runs[0])}


def skipped_counts(run) -> dict[str, int]:
    """Questions per column that had no video (data.skip_missing): unanswered, counted wrong."""
    return {c: k["n"] for c, k in accuracy_cells((p["group"], p["type"], True) for p in run.predictions
                                                 if p.get("prediction") is None).items()}


def evaluated_files(runs) -> list[dict]:
    """The distinct annotation files the runs were scored on (name, questions, sha256)."""
    out = []
    for f in (r.evaluated_file for r in runs):
        if f and f not in out:
            out.append(f)
    return out


def _part_cells(run) -> dict[str, dict] | None:
    """{"head": cells, "tail": cells} of an -R run: from its predictions' `subset` labels (eval writes
    them), else from its metrics file's head_tail (runs evaluated before); None when neither says."""
    if any("subset" in p for p in run.predictions):
        return {part: accuracy_cells((p["group"], p["type"], p["prediction"] == p["answer"])
                                     for p in run.predictions if p.get("subset") == part) for part in ("head", "tail")}
    ht = run.metrics.get("head_tail")
    return {part: ht[part] for part in ("head", "tail")} if ht else None


def _acc(cell: dict | None) -> float | None:
    if not cell:
        return None
    if cell.get("n") and "correct" in cell:
        return 100.0 * cell["correct"] / cell["n"]
    return cell.get("acc")


def head_tail_row(runs) -> dict | None:
    """MUSIC-AVQA-R: head and tail accuracy per type (`cells`: "A-Count H", ..., "AV-Temp T", and Avg
    over the whole set, as the published -R table), plus head and tail over all types; mean (and
    std) over seeds. None when no run recorded head/tail labels."""
    parts = [_part_cells(r) for r in runs]
    if not any(parts):
        return None
    labels = next((r.metrics.get("head_tail", {}).get("labels") for r in runs if r.metrics.get("head_tail")),
                  "the subset labels in the predictions files")
    whole = [cells_from_predictions(r.predictions) for r in runs]
    row = {"name": row_name(runs), "labels": labels, "cells": {}}

    def cell(values: list, n: int) -> dict:
        mean, std = _mean_std(values)
        out = {"acc": None if mean is None else round(mean, 2), "n": n}
        if len(runs) > 1:
            out["std"] = None if std is None else round(std, 2)
        return out

    first = next(p for p in parts if p)
    for col in TYPE_COLUMNS:
        for part, short in (("head", "H"), ("tail", "T")):
            row["cells"][f"{col} {short}"] = cell([_acc(p[part].get(col)) if p else None for p in parts],
                                                  (first[part].get(col) or {}).get("n", 0))
    row["cells"]["Avg"] = cell([_acc(w["Avg"]) for w in whole], whole[0]["Avg"]["n"])
    for part in ("head", "tail"):
        row[part] = cell([_acc(p[part].get("Avg")) if p else None for p in parts],
                         (first[part].get("Avg") or {}).get("n", 0))
    return row


def template_of(record: dict) -> str:
    """Template text of a prediction record (stored as text or as a TEMPLATE_IDS index)."""
    t = record.get("template")
    if isinstance(t, int) and not isinstance(t, bool):
        return _TEMPLATE_TEXT[t] if 0 <= t < len(_TEMPLATE_TEXT) else FREE_TEXT
    if isinstance(t, str) and normalize_template(t) in TEMPLATE_IDS:
        return normalize_template(t)
    return FREE_TEXT


def template_row(runs) -> dict:
    """Accuracy per template, mean (and std) over seeds: {template: {"column", "acc", "n", ...}}."""
    _same_questions(runs)
    per_run = []
    for run in runs:
        counts: dict[str, list] = {}
        for p in run.predictions:
            c = counts.setdefault(template_of(p), [0, 0, type_column(p["group"], p["type"])])
            c[0] += p["prediction"] == p["answer"]
            c[1] += 1
        per_run.append(counts)
    order = sorted(per_run[0], key=lambda t: TEMPLATE_IDS.get(t, len(TEMPLATE_IDS)))
    templates = {}
    for t in order:
        mean, std = _mean_std([100.0 * c[t][0] / c[t][1] for c in per_run])
        cell = {"column": per_run[0][t][2], "acc": round(mean, 2), "n": per_run[0][t][1]}
        if len(runs) > 1:
            cell["std"] = None if std is None else round(std, 2)
        templates[t] = cell
    return {"name": row_name(runs), "split": runs[0].split, "seeds": len(runs), "templates": templates}


def wording_row(runs) -> dict:
    """Accuracy per wording (template, seen or unseen rephrasing, free text: data/wordings.py), in all
    and per template, mean (and std) over seeds: {"wordings": {kind: cell}, "templates": {t: {kind: cell}}}."""
    _same_questions(runs)
    per_run = []
    for run in runs:
        counts: dict[tuple, list] = {}
        for p in run.predictions:
            kind = p.get("wording") or TEMPLATE_WORDING      # files written before wordings existed
            for key in ((kind,), (template_of(p), kind)):
                c = counts.setdefault(key, [0, 0])
                c[0] += p["prediction"] == p["answer"]
                c[1] += 1
        per_run.append(counts)

    def cell(key) -> dict:
        mean, std = _mean_std([100.0 * c[key][0] / c[key][1] for c in per_run])
        out = {"acc": round(mean, 2), "n": per_run[0][key][1]}
        if len(runs) > 1:
            out["std"] = None if std is None else round(std, 2)
        return out

    templates: dict[str, dict] = {}
    for key in sorted((k for k in per_run[0] if len(k) == 2), key=lambda k: (TEMPLATE_IDS.get(k[0], 99), k[1])):
        templates.setdefault(key[0], {})[key[1]] = cell(key)
    return {"name": row_name(runs), "split": runs[0].split, "seeds": len(runs),
            "wordings": {k: cell((k,)) for k in WORDINGS if (k,) in per_run[0]}, "templates": templates}


NO_VIDEO = "(no video)"     # the prediction of a question skipped for its missing video


def answer_cells(run) -> dict:
    """scikit-learn's per-answer precision/recall/F1 (percent) and a confusion matrix per type."""
    from sklearn.metrics import classification_report, confusion_matrix

    y_true = [p["answer"] for p in run.predictions]
    y_pred = [p["prediction"] or NO_VIDEO for p in run.predictions]
    rank = {a: i for i, a in enumerate(ANSWERS)}
    labels = sorted(set(y_true) | set(y_pred), key=lambda a: (rank.get(a, len(rank)), a))
    rep = classification_report(y_true, y_pred, labels=labels, output_dict=True, zero_division=0)
    answers = {a: {"precision": round(100 * rep[a]["precision"], 2), "recall": round(100 * rep[a]["recall"], 2),
                   "f1": round(100 * rep[a]["f1-score"], 2), "support": int(rep[a]["support"])}
               for a in labels}
    confusion = {}
    for col in COLUMNS:
        rows = [p for p in run.predictions if type_column(p["group"], p["type"]) == col]
        if not rows:
            continue
        t, q = [p["answer"] for p in rows], [p["prediction"] or NO_VIDEO for p in rows]
        lab = sorted(set(t) | set(q), key=lambda a: (rank.get(a, len(rank)), a))
        confusion[col] = {"labels": lab, "matrix": confusion_matrix(t, q, labels=lab).tolist()}
    return {"name": run.name, "split": run.split, "answers": answers, "confusion": confusion}
