"""`amuse eval`: every question of a split answered with a run's best checkpoint (no dedup by video);
predictions-<split>.jsonl and metrics-<split>.json in the run folder (docs/INTERFACES.md §3)."""
from __future__ import annotations

import json
from pathlib import Path

import torch
import yaml

from amuse_cli import config, registry
from amuse_cli.atomic import write_atomic
from amuse_cli.data.annotations import read_json_array
from amuse_cli.data.releases import evaluation_header, file_sha256, identify, identify_records, subset_labels
from amuse_cli.data.taxonomy import ANSWERS
from amuse_cli.data.vocab import Vocab
from amuse_cli import distributed
from amuse_cli.engine import checkpoint, datasets, splits
from amuse_cli.engine.batches import autocast, eval_loader, pad_batch, to_device
from amuse_cli.features.lookup import open_cache
from amuse_cli.errors import AmuseError
from amuse_cli.data.metrics import accuracy_cells

TOP_K = 5


@torch.inference_mode()
def predict_dataset(model, ds, cfg: dict, ctx) -> dict[int, list]:
    """{record index: top-5 [(answer index, probability)]} for every item, gathered from all ranks."""
    was_training = model.training
    model.eval()
    out = {}
    size = cfg["eval"]["batch_size"]
    for batch in eval_loader(ds, size, cfg["train"]["num_workers"], ctx.rank, ctx.world):
        batch, n = pad_batch(to_device(batch, ctx.device), size)
        with autocast(cfg["train"]["precision"], ctx.device):
            logits = model(batch)[:n]
        p, k = logits.float().softmax(-1).topk(TOP_K, dim=-1)
        for idx, pp, kk in zip(batch["index"][:n].tolist(), p.tolist(), k.tolist()):
            out[idx] = list(zip(kk, pp))
    model.train(was_training)
    merged = {}
    for part in distributed.gather(out):
        merged.update(part)
    return merged


def val_cells(preds: dict[int, list], records) -> dict:
    return accuracy_cells((records[i].group, records[i].qtype, ANSWERS[top[0][0]] == records[i].answer)
                          for i, top in preds.items())


# What `eval` / `predict` may set on a finished run: where its data and cache are, which questions,
# how it runs. Anything else would describe a model other than the one trained.
WHERE_PREFIXES = ("data.", "eval.")
WHERE_KEYS = ("features.cache", "train.device", "train.num_workers", "train.precision")
FIXED_DATA = ("data.max_tokens",)


def load_checkpointed_run(run: str | Path, which: str = "best.pt", overrides=()):
    """(cfg, vocab, checkpoint dict, its path) of a run folder, with `overrides` of where its data
    lives (data.*, features.cache, eval.*, train.device); best.pt, else last.pt."""
    run = Path(run)
    if not (run / "config.yaml").is_file():
        raise AmuseError(f"{run} is not a run folder (no config.yaml); runs live under checkpoints/<recipe>/<run>")
    saved = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    sets, removes = config.parse_overrides(overrides)
    for key in [*config.flatten(sets), *removes]:
        if not (key.startswith(WHERE_PREFIXES) or key in WHERE_KEYS) or key in FIXED_DATA:
            raise AmuseError(f"{key}: a finished run's model settings cannot change; only data.*, "
                             f"features.cache, eval.*, train.device/num_workers/precision may be set")
    cfg = config.resolve(saved, overrides)
    vocab = Vocab.load(run / "vocab.json")
    path = run / which if (run / which).is_file() else run / "last.pt"
    return cfg, vocab, checkpoint.load(path), path


def build_model(cfg, spec, state, device, path):
    model = registry.create("model", cfg["model"], spec, where="model.name")
    checkpoint.restore(model, state, path)
    return model.to(device).eval()


def write_jsonl(path: Path, rows) -> None:
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _inputs(run: Path, split: str, annotations, overrides):
    """The run, its data and cache, checked (every problem at once): (cfg, vocab, state, ckpt, cache,
    records, questions without video)."""
    from amuse_cli.engine.preflight import Problems
    cfg, vocab, state, ckpt = load_checkpointed_run(run, overrides=overrides)
    problems = Problems()
    cache = problems.attempt(open_cache, cfg)
    records = problems.attempt(splits.load_split, cfg, split, annotations)
    skipped = 0
    if cache is not None and records is not None:
        skipped = problems.attempt(datasets.check_videos, cfg, cache, records, split) or 0
    problems.raise_if_any()
    return cfg, vocab, state, ckpt, cache, records, skipped


def scored_file(cfg: dict, split: str, annotations) -> Path:
    """The annotation file a split's questions come from (val carved from train: the train file)."""
    if annotations:
        return Path(annotations)
    return splits.split_file(cfg, "train" if split == "val" and splits.carves_val(cfg) else split)


def trained_on(run: Path) -> tuple[str, str]:
    """(what the run was trained on, its train file): the release of that file when it is at hand (v2.0
    balanced or bias, v1 original or updated, synthetic), else the recipe's data.benchmark. Read from
    the run's own config.yaml: a data.root given to `amuse eval` says where the *scored* data is, and
    the train file there may be another set's."""
    cfg = config.resolve(yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")), ())
    path = Path(cfg["data"]["root"]) / cfg["data"]["train"]
    try:
        release = identify(path) if path.is_file() else None
    except AmuseError:
        release = None
    return (release.id if release is not None and release.known else cfg["data"]["benchmark"]), cfg["data"]["train"]


def check_evaluable(run: str | Path, split: str = "test", annotations: str | None = None,
                    overrides=()) -> tuple[int, int]:
    """Every check `evaluate` makes before answering (`amuse eval --dry-run`): (questions, without video)."""
    *_, records, skipped = _inputs(Path(run), split, annotations, overrides)
    return len(records), skipped


def evaluate(run: str | Path, split: str = "test", annotations: str | None = None, overrides=()) -> dict:
    """Answer every question; write the two files (rank 0); return the metrics object."""
    run = Path(run)
    cfg, vocab, state, ckpt, cache, records, skipped = _inputs(run, split, annotations, overrides)
    ctx = distributed.setup(cfg["train"]["device"])
    try:
        ds = datasets.dataset(cfg, records, cache, vocab)
        model = build_model(cfg, datasets.spec(cfg, cache.shapes, vocab), state, ctx.device, ckpt)
        preds = predict_dataset(model, datasets.with_scenes(ds, model, ctx.device), cfg, ctx)
    finally:
        distributed.cleanup()
    path = scored_file(cfg, split, annotations)
    sha = file_sha256(path)
    release = identify_records(path, read_json_array(path), sha)
    subsets, _ = subset_labels(path, records, release)     # MUSIC-AVQA-R: head or tail per question
    rows = []
    for i, r in enumerate(records):
        # a question skipped for its missing video (data.skip_missing) stays in the file and in every
        # figure, unanswered and so wrong: a test figure never quietly covers fewer questions
        top = [[ANSWERS[a], round(p, 6)] for a, p in preds.get(i, [])]
        row = {"key": r.key, "video_id": r.video_id, "question_id": r.question_id, "group": r.group,
               "type": r.qtype, "template": r.template, "wording": r.wording, "question": r.question,
               "answer": r.answer, "prediction": top[0][0] if top else None,
               "correct": bool(top) and top[0][0] == r.answer, "top5": top}
        if r.audio_from is not None:
            row["audio_from"] = r.audio_from
        if subsets is not None:
            row["subset"] = subsets[i]
        if not top:
            row["skipped"] = "video missing from the cache: " + datasets.why_missing(cache, r)
        rows.append(row)
    cells = accuracy_cells((r["group"], r["type"], r["correct"]) for r in rows)
    # benchmark/release: the file scored, not the recipe's training data (kept as trained_on)
    header = evaluation_header(path, records, [r["correct"] for r in rows], release, sha)
    release_trained, file_trained = trained_on(run)
    metrics = {"split": split, **header, "trained_on": release_trained, "trained_on_file": file_trained,
               "checkpoint": str(ckpt), "epoch": state.get("epoch"), "skipped_questions": skipped, "cells": cells}
    if split == "val" and annotations is None and splits.carves_val(cfg):
        metrics["val_split"] = "carved from the train file by video (the run's val-split.json)"
    if ctx.main:
        write_jsonl(run / f"predictions-{split}.jsonl", rows)
        write_atomic(run / f"metrics-{split}.json", json.dumps(metrics, indent=2) + "\n")
    return metrics
