"""Checks before any work, collected: a dry run (and the trainer before its run folder) names every
problem at once, so one round of fixes clears them all instead of one problem per attempt.

Each check is an ordinary function that raises AmuseError; `Problems.attempt` runs it and keeps the
message. Later checks that need an earlier one's result (videos need the cache) are skipped when it
failed, so no problem is reported twice.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

from amuse_cli import registry
from amuse_cli.data.vocab import Vocab
from amuse_cli.engine import datasets, splits
from amuse_cli.engine.batches import autocast
from amuse_cli.errors import AmuseError
from amuse_cli.features.lookup import FeatureCache, open_cache
from amuse_cli.features.settings import array_shapes, extraction_settings


class Problems:
    """AmuseError messages gathered from several checks; `raise_if_any` reports them all at once."""

    def __init__(self, lines=()):
        self.lines: list[str] = list(lines)

    def attempt(self, check, *args, **kwargs):
        """check(...)'s result, or None with its message kept."""
        try:
            return check(*args, **kwargs)
        except AmuseError as e:
            self.lines.append(str(e))
            return None

    def raise_if_any(self, every: bool = True) -> None:
        """AmuseError listing every problem; every=False: the first alone, on one line (a note on
        stderr counts the others; the command's --dry-run lists them)."""
        if len(self.lines) == 1 or (self.lines and not every):
            if len(self.lines) > 1:
                print(f"note: {len(self.lines) - 1} more problem(s) after this one; --dry-run lists them all",
                      file=sys.stderr, flush=True)
            raise AmuseError(self.lines[0])
        if self.lines:
            raise AmuseError(f"{len(self.lines)} problems:\n" +
                             "\n".join(f"  {i}. {line}" for i, line in enumerate(self.lines, 1)))


def check_source_labels(cfg: dict) -> None:
    """The source branch learns from the cache's source labels: none to learn from is an error."""
    if cfg["features"]["source_method"] == "none" and (cfg["model"] or {}).get("source"):
        raise AmuseError("features.source_method=none gives no source labels, which the source branch "
                         "(model.source=true) learns from; set model.source=false, or label sources with "
                         "features.source_method=tagger features.tagger_weights=<Cnn14_16k .pth>")


def check_model(cfg: dict, shapes: dict, vocab: Vocab) -> None:
    """Build the recipe's model once: settings only its builder can judge, and every weight file it
    loads (model.weights: a perception file, a state dict, or DEFAULT's torch hub file)."""
    registry.create("model", cfg["model"], datasets.spec(cfg, shapes, vocab), where="model.name")


def model_weights(cfg: dict) -> list[str]:
    """The weight files the recipe's model will load, checked (extract-features --dry-run): [] when
    model.weights is none or they load."""
    weights = str((cfg.get("model") or {}).get("weights", "none")).lower()
    if weights in ("none", ""):
        return []
    problems = Problems()
    problems.attempt(check_model, cfg, array_shapes(extraction_settings(cfg)), Vocab([]))
    return problems.lines


@dataclass
class Inputs:
    """What training reads, every one of them checked."""
    cache: FeatureCache
    train: list
    val: list
    val_split: dict | None      # how val was carved from train (data.val: null), else None


def training_inputs(cfg: dict, device, *, test: bool = False, model: bool = False, every: bool = True) -> Inputs:
    """Precision, source labels, cache, annotation files (train, val and with `test` the test split),
    their videos and with `model` the model's settings and weights; AmuseError listing every problem
    (every=False: the first, as a run that stops reports it)."""
    problems = Problems()
    problems.attempt(autocast, cfg["train"]["precision"], device)
    problems.attempt(check_source_labels, cfg)
    cache = problems.attempt(open_cache, cfg)
    parts = problems.attempt(splits.train_val, cfg)
    train, val, carved = parts if parts else (None, None, None)
    named = {"train": train, "val": val}
    if test:
        named["test"] = problems.attempt(splits.load_split, cfg, "test")
    if cache is not None:
        for split, recs in named.items():
            if recs is not None:
                problems.attempt(datasets.check_videos, cfg, cache, recs, split)
    if model:      # without a cache, the shapes it would have: weight files are checked all the same
        shapes = cache.shapes if cache is not None else array_shapes(extraction_settings(cfg))
        problems.attempt(check_model, cfg, shapes, Vocab.build(train or []))
    problems.raise_if_any(every)
    return Inputs(cache, train, val, carved)
