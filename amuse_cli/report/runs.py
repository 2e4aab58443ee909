"""Find evaluated run folders and group the runs of one recipe that differ only in seed.

A run folder (docs/INTERFACES.md §3) holds `config.yaml` and, after `amuse eval`,
`predictions-<split>.jsonl` and `metrics-<split>.json`. The report recomputes every number from
the predictions file; the metrics file is only read for its header (the evaluated file and its
release, MUSIC-AVQA-R head/tail accuracy).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from amuse_cli import paths
from amuse_cli.config import config_hash
from amuse_cli.data.taxonomy import TYPES
from amuse_cli.errors import AmuseError

# Keys a prediction record must carry for the report (the rest of §3's keys are optional here).
PREDICTION_KEYS = ("group", "type", "answer", "prediction")


@dataclass
class Run:
    path: Path
    name: str                 # path relative to checkpoints/ when inside it, else as given
    split: str
    config: dict
    predictions: list[dict]
    metrics: dict = field(default_factory=dict)

    @property
    def benchmark(self) -> str:
        """What the run was scored on: the release `amuse eval` identified from the evaluated file;
        for runs evaluated before releases were recorded, the metrics' or recipe's data.benchmark."""
        release = self.metrics.get("release") or {}
        if release.get("id") and release["id"] != "unknown":
            return str(release["id"])
        return str(self.metrics.get("benchmark") or (self.config.get("data") or {}).get("benchmark") or "synthetic")

    @property
    def trained_on(self) -> str | None:
        """The release (or data.benchmark) of the run's train file, as `amuse eval` recorded it."""
        return self.metrics.get("trained_on") or (self.config.get("data") or {}).get("benchmark")

    @property
    def complete(self) -> bool | None:
        """False when the run was scored on a part of the released test file (release.complete)."""
        return (self.metrics.get("release") or {}).get("complete")

    @property
    def evaluated_file(self) -> dict | None:
        """{"name", "questions", "sha256"} of the annotation file scored, when the metrics say."""
        if not self.metrics.get("annotations"):
            return None
        return {"name": Path(self.metrics["annotations"]).name, "questions": self.metrics.get("questions"),
                "sha256": self.metrics.get("sha256")}

    @property
    def recipe(self) -> str:
        return str(self.config.get("name") or self.path.parent.name)

    @property
    def seed(self):
        return self.config.get("seed")

    @property
    def config_hash(self) -> str:
        return config_hash(self.config)


def predictions_file(run_dir: Path, split: str) -> Path:
    return run_dir / f"predictions-{split}.jsonl"


def _display_name(run_dir: Path) -> str:
    ckpt = Path(paths.CHECKPOINTS_DIR).resolve()
    here = run_dir.resolve()
    if here.is_relative_to(ckpt) and here != ckpt:
        return here.relative_to(ckpt).as_posix()
    return Path(os.path.relpath(here)).as_posix() if here.is_relative_to(Path.cwd()) else here.as_posix()


def read_predictions(path: Path) -> list[dict]:
    """One JSON object per line; a bad line fails with its file and line number."""
    records = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise AmuseError(f"{path}:{lineno}: not valid JSON ({e.msg}); "
                                 f"re-run `amuse eval {path.parent}` to rewrite it") from None
            missing = [k for k in PREDICTION_KEYS if not isinstance(rec, dict) or k not in rec]
            if missing:
                raise AmuseError(f"{path}:{lineno}: prediction record lacks {', '.join(missing)} "
                                 f"(docs/INTERFACES.md §3); re-run `amuse eval {path.parent}`")
            if (rec["group"], rec["type"]) not in TYPES:
                raise AmuseError(f"{path}:{lineno}: unknown question type {rec['group']}/{rec['type']}; "
                                 f"expected one of the nine MUSIC-AVQA types (amuse_cli.data.taxonomy.TYPES)")
            records.append(rec)
    if not records:
        raise AmuseError(f"{path} holds no predictions; re-run `amuse eval {path.parent}`")
    return records


def read_run(run_dir: Path, split: str) -> Run:
    cfg_path = run_dir / "config.yaml"
    if not cfg_path.is_file():
        raise AmuseError(f"{run_dir} has predictions but no config.yaml; it is not a run folder "
                         f"written by `amuse train` (checkpoints/<recipe>/<run>/)")
    try:
        cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise AmuseError(f"{cfg_path}: invalid YAML ({getattr(e, 'problem', e)})") from None
    metrics_path = run_dir / f"metrics-{split}.json"
    metrics = {}
    if metrics_path.is_file():
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            metrics = {}  # numbers come from the predictions file anyway
        for key in ("trained_on", "benchmark", "annotations"):   # header words the report prints and compares
            if key in metrics and not isinstance(metrics[key], (str, type(None))):
                raise AmuseError(f"{metrics_path}: {key} is {metrics[key]!r}, not a name; write it again: "
                                 f"amuse eval {run_dir} --split {split}")
    return Run(run_dir, _display_name(run_dir), split, cfg,
               read_predictions(predictions_file(run_dir, split)), metrics)


def find_run_dirs(roots, split: str) -> list[Path]:
    """Run folders with predictions-<split>.jsonl: each root itself or anywhere below it."""
    found: list[Path] = []
    explicit = bool(roots)
    for root in (roots or [paths.CHECKPOINTS_DIR]):
        root = Path(root)
        if not root.is_dir():
            if explicit:
                raise AmuseError(f"run folder {root} does not exist; pass checkpoints/<recipe>/<run> "
                                 f"or leave RUN out to take every run under {paths.CHECKPOINTS_DIR}/")
            continue
        hits = sorted(p.parent for p in root.rglob(predictions_file(Path(), split).name))
        if not hits and explicit:
            raise AmuseError(f"no predictions-{split}.jsonl in {root} or below; "
                             f"run `amuse eval {root} --split {split}` first")
        found += [h for h in hits if h not in found]
    if not found:
        raise AmuseError(f"no evaluated runs (predictions-{split}.jsonl) under {paths.CHECKPOINTS_DIR}/; "
                         f"run `amuse eval checkpoints/<recipe>/<run> --split {split}` first")
    return found


def group_by_recipe(runs: list[Run]) -> list[list[Run]]:
    """Runs sharing config_hash (same recipe, any seed) and evaluated release, in first-seen order."""
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault((run.config_hash, run.benchmark, run.split), []).append(run)
    return list(groups.values())


def find_runs(roots, split: str) -> list[list[Run]]:
    return group_by_recipe([read_run(d, split) for d in find_run_dirs(roots, split)])
