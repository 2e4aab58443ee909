"""`train.tensorboard=true`: a real (tiny) training run writes event files into its run folder that
TensorBoard's own reader parses, with loss, lr, val accuracy per type and samples/s; resuming purges
the steps it redoes; without the package, one line naming the extra to install."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from amuse_cli import config
from amuse_cli.cli import cli
from amuse_cli.data.taxonomy import COLUMNS
from amuse_cli.engine import tensorboard
from amuse_cli.errors import AmuseError
from conftest import TRAIN_FAST

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_thread")


def scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of the run folder's event files, read by tensorboard itself: tag -> [(step, value)]."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run), size_guidance={"scalars": 0})  # 0: keep every event
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def train(work: Path, overrides, *extra) -> CliRunner:
    old = os.getcwd()
    os.chdir(work)
    try:
        return CliRunner().invoke(cli, ["train", str(REPO / "recipes/amuse-tiny.yaml"), *overrides, *TRAIN_FAST,
                                        "--no-progress", *extra], catch_exceptions=False)
    finally:
        os.chdir(old)


def test_a_training_run_writes_every_scalar_that_tensorboard_reads(tiny_features):
    pytest.importorskip("tensorboard")
    work, overrides = tiny_features
    result = train(work, overrides, "train.tensorboard=true", "--run-name", "tb")
    assert result.exit_code == 0, result.output
    run = work / "checkpoints" / "amuse-tiny" / "tb"
    assert list(run.glob("events.out.tfevents.*"))
    got = scalars(run)
    log = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in log if r["stage"] == "qa"]
    assert len(rows) == 2
    # per epoch, at the optimiser step the epoch ended on: exactly the numbers metrics.jsonl holds
    ends = [r["step"] for r in rows]
    assert got["epoch"] == [(s, float(r["epoch"])) for s, r in zip(ends, rows)]
    for tag, key in (("train/loss_epoch", "train_loss"), ("train/lr", "lr"), ("train/samples_per_s", "samples_per_s")):
        assert [s for s, _ in got[tag]] == ends, tag
        assert [v for _, v in got[tag]] == pytest.approx([r[key] for r in rows], rel=1e-6), tag
    asked = [c for c in COLUMNS if rows[0]["val"][c] is not None]  # the tiny val split lacks some types
    assert len(asked) >= 8 and "Avg" in asked
    for column in COLUMNS:  # the nine types, the three groups and Avg; a type val never asks is not drawn
        expected = [r["val"][column] for r in rows if r["val"][column] is not None]
        assert [v for _, v in got.get(f"val/{column}", [])] == pytest.approx(expected), column
    # the per-batch loss: one point per optimiser step (grad_accum 1), finite, steps 1..last
    steps = [s for s, _ in got["train/loss"]]
    assert steps == list(range(1, ends[-1] + 1))
    assert all(v == v and v >= 0 for _, v in got["train/loss"])


def test_resume_keeps_one_history_per_step(tiny_features):
    pytest.importorskip("tensorboard")
    work, overrides = tiny_features
    from torch.utils.tensorboard import SummaryWriter

    work, overrides = tiny_features
    result = train(work, overrides, "train.epochs=1", "train.tensorboard=true", "--run-name", "tb-resume")
    assert result.exit_code == 0, result.output
    run = work / "checkpoints" / "amuse-tiny" / "tb-resume"
    first = scalars(run)
    end = first["epoch"][-1][0]
    # as if the run had gone on into epoch 2 and been killed before its checkpoint
    with SummaryWriter(str(run)) as lost:
        for step in range(end + 1, end + 4):
            lost.add_scalar("train/loss", 999.0, step)
    assert len(scalars(run)["train/loss"]) == len(first["train/loss"]) + 3
    result = train(work, overrides, "train.tensorboard=true", "--resume", str(run))  # on to epoch 2
    assert result.exit_code == 0, result.output
    got = scalars(run)
    steps = [s for s, _ in got["train/loss"]]
    assert steps == list(range(1, got["epoch"][-1][0] + 1)), "a step logged twice or missing"
    assert 999.0 not in [v for _, v in got["train/loss"]]  # the lost steps were purged, then redone
    assert got["train/loss"][:len(first["train/loss"])] == first["train/loss"]
    assert [v for _, v in got["epoch"]] == [1.0, 2.0]


def test_tensorboard_is_optional_and_off_by_default(tiny_features, monkeypatch):
    work, overrides = tiny_features
    cfg = config.load(REPO / "recipes/amuse-tiny.yaml")
    assert cfg["train"]["tensorboard"] is False
    assert isinstance(tensorboard.open_board(cfg, work, True, None), tensorboard.NoBoard)
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import fails as if not installed
    tensorboard.check(cfg)  # off: nothing needed
    on = config.load(REPO / "recipes/amuse-tiny.yaml", ["train.tensorboard=true"])
    with pytest.raises(AmuseError, match=r"pip install 'amuse\[tensorboard\]'"):
        tensorboard.check(on)
    result = train(work, overrides, "train.tensorboard=true", "--run-name", "no-tb")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "amuse[tensorboard]" in result.stderr
    assert not (work / "checkpoints" / "amuse-tiny" / "no-tb").exists()
    result = train(work, overrides, "train.tensorboard=true", "--dry-run")
    assert result.exit_code == 2 and "amuse[tensorboard]" in result.stderr


def test_logging_to_tensorboard_does_not_split_a_recipe_s_seeds():
    a = config.load(REPO / "recipes/amuse-tiny.yaml", ["seed=0"])
    b = config.load(REPO / "recipes/amuse-tiny.yaml", ["seed=1", "train.tensorboard=true"])
    assert config.config_hash(a) == config.config_hash(b)
    assert config.config_hash(a) != config.config_hash(config.load(REPO / "recipes/amuse-tiny.yaml",
                                                                   ["train.epochs=3"]))
