"""`amuse train` through the real CLI on tiny_synth: the run folder, refusing to overwrite, kill -9 +
--resume auto, NaN losses, failed checkpoint writes, the CPU warning; sampler and recipe checks."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from amuse_cli import config, registry
from amuse_cli.cli import cli
from amuse_cli.data.taxonomy import COLUMNS
from amuse_cli.engine import checkpoint
from amuse_cli.engine.batches import GroupedBatchSampler
from conftest import TRAIN_FAST

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "recipes/amuse-tiny.yaml")
FAST = ["train.epochs=2", "stage1.epochs=1", "train.batch_size=8", "train.questions_per_video=2",
        "eval.batch_size=16"]

pytestmark = pytest.mark.usefixtures("one_thread")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_run_folder_explains_itself(tiny_run):
    run, _ = tiny_run
    for name in ("config.yaml", "command.txt", "env.txt", "git.txt", "vocab.json", "metrics.jsonl",
                 "last.pt", "best.pt"):
        assert (run / name).is_file(), name
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["name"] == "amuse-tiny" and isinstance(cfg["seed"], int)
    assert "amuse train" in (run / "command.txt").read_text() and "torch " in (run / "env.txt").read_text()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in rows] == ["stage1", "qa", "qa"]
    for r in rows[1:]:
        assert set(r["val"]) == set(COLUMNS) and r["lr"] > 0 and r["samples_per_s"] > 0 and r["peak_mem_gb"] > 0
    last = torch.load(run / "last.pt", weights_only=True)
    assert {"model", "optimizer", "scheduler", "scaler", "rng", "epoch", "step", "best"} <= set(last)
    assert last["epoch"] == 2 and last["step"] == rows[-1]["step"]
    best = torch.load(run / "best.pt", weights_only=True)
    accs = [r["val_acc"] for r in rows[1:]]
    assert best["epoch"] == 1 + accs.index(max(accs))  # selected on val


def test_existing_run_folder_is_refused_then_overwritten(tiny_features, monkeypatch):
    work, overrides = tiny_features
    monkeypatch.chdir(work)
    old = work / "checkpoints/amuse-tiny/dup"
    old.mkdir(parents=True)
    (old / "config.yaml").write_text("name: old\n")
    result = invoke("train", TINY, *overrides, *FAST, "--run-name", "dup")
    assert result.exit_code == 2 and "already exists" in result.output and "--overwrite" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert (old / "config.yaml").read_text() == "name: old\n"
    result = invoke("train", TINY, *overrides, *FAST, "train.epochs=1", "--run-name", "dup", "--overwrite",
                    "--no-progress")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((old / "config.yaml").read_text())["name"] == "amuse-tiny"


def _train_cmd(overrides, *extra):
    return [sys.executable, "-m", "amuse_cli", "train", TINY, *overrides, *FAST, "train.epochs=3",
            "train.deterministic=true", "--no-progress", *extra]


def test_kill_9_then_resume_auto_ends_like_an_uninterrupted_run(tiny_features, tmp_path):
    _, overrides = tiny_features
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    subprocess.run(_train_cmd(overrides, "--run-name", "whole"), cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen(_train_cmd(overrides, "--run-name", "killed"), cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "checkpoints/amuse-tiny/killed/metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and '"stage": "qa"' in log.read_text():
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = torch.load(log.parent / "last.pt", weights_only=True)["epoch"]
    assert killed_at < 3, "the run finished before it could be killed"
    res = subprocess.run(_train_cmd(overrides, "--resume", "auto"), cwd=tmp_path, env=env, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    assert f"resumed checkpoints/amuse-tiny/killed/last.pt: epoch {killed_at}/3 done" in res.stdout
    whole = [json.loads(x) for x in (tmp_path / "checkpoints/amuse-tiny/whole/metrics.jsonl").read_text().splitlines()]
    again = [json.loads(x) for x in log.read_text().splitlines()]
    drop = ("samples_per_s", "peak_mem_gb", "time_s")
    assert [{k: v for k, v in r.items() if k not in drop} for r in again] == \
        [{k: v for k, v in r.items() if k not in drop} for r in whole]
    a = torch.load(log.parent / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "checkpoints/amuse-tiny/whole/last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_nan_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tiny_features, tiny_run, monkeypatch):
    work, overrides = tiny_features
    monkeypatch.chdir(work)
    steps = json.loads((tiny_run[0] / "metrics.jsonl").read_text().splitlines()[1])["step"]  # per epoch
    # a schedule that multiplies the rate by 1e30 once epoch 1 is done: the loss overflows in epoch 2
    result = invoke("train", TINY, *overrides, *FAST, "sched.name=step", f"sched.step_size={steps}",
                    "sched.gamma=1.0e+30", "--run-name", "nan", "--no-progress")
    assert result.exit_code == 2
    line = result.output.strip().splitlines()[-1]
    assert "loss became" in line and "at epoch 2 step" in line and "last good checkpoint" in line
    assert "Traceback" not in result.output
    run = work / "checkpoints/amuse-tiny/nan"
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in torch.load(run / "last.pt", weights_only=True)["model"].values())


def test_resume_with_other_settings_is_refused_before_touching_the_run(tiny_run, tiny_features, monkeypatch):
    run, _ = tiny_run
    work, overrides = tiny_features
    monkeypatch.chdir(work)
    before = {p.name: sha(p) for p in run.iterdir() if p.is_file()}
    result = invoke("train", TINY, *overrides, *TRAIN_FAST, "optim.lr=0.5", "--resume", run)
    assert result.exit_code == 2 and "optim.lr=0.5" in result.output and "differs" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert {p.name: sha(p) for p in run.iterdir() if p.is_file()} == before


def test_missing_videos_stop_train_before_its_folder_or_are_skipped_and_counted(tiny_features, tiny_synth,
                                                                                tmp_path, monkeypatch):
    work, overrides = tiny_features
    monkeypatch.chdir(work)
    rows = json.loads((tiny_synth / "json/avqa-train.json").read_text())
    gone = [dict(r, video_id="00099999") for r in rows[:3]]            # v2.0's offline YouTube ids
    (tmp_path / "train.json").write_text(json.dumps(rows + gone))
    args = ["train", TINY, *overrides, *FAST, "train.epochs=1", f"data.train={tmp_path / 'train.json'}",
            "--run-name", "gone", "--no-progress"]
    result = invoke(*args)
    assert result.exit_code == 2 and "3 train questions refer to 1 videos missing" in result.output
    assert "data.skip_missing=true" in result.output and "Traceback" not in result.output
    assert not (work / "checkpoints/amuse-tiny/gone").exists()
    result = invoke(*args, "data.skip_missing=true")
    assert result.exit_code == 0, result.output
    assert f"skipping 3 of {len(rows) + 3} train questions: 1 videos missing" in result.output


def test_failed_checkpoint_write_is_a_clear_error_and_keeps_earlier_files(tiny_features, monkeypatch):
    work, overrides = tiny_features
    monkeypatch.chdir(work)
    real_save, calls = torch.save, []

    def disk_full_on_second_last(obj, f, *a, **kw):
        if ".last.pt" in str(getattr(f, "name", f)):
            calls.append(1)
            if len(calls) == 2:
                f.write(b"partial")
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(obj, f, *a, **kw)
    monkeypatch.setattr(checkpoint.torch, "save", disk_full_on_second_last)
    result = invoke("train", TINY, *overrides, *FAST, "--run-name", "full-disk", "--no-progress")
    assert result.exit_code == 2
    line = result.output.strip().splitlines()[-1]
    assert "could not write checkpoint" in line and "No space left on device" in line and "intact" in line
    run = work / "checkpoints/amuse-tiny/full-disk"
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 1
    assert not list(run.glob(".*tmp*"))


def test_interrupted_checkpoint_write_never_replaces_the_good_one(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    checkpoint.save({"epoch": 1, "w": torch.ones(1000)}, path)
    before = sha(path)

    def killed_half_way(obj, f, *a, **kw):
        f.write(b"\x80\x02half a checkpoint")
        raise KeyboardInterrupt  # the process dies in the middle of the write
    monkeypatch.setattr(checkpoint.torch, "save", killed_half_way)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save({"epoch": 2, "w": torch.zeros(1000)}, path)
    assert sha(path) == before and checkpoint.load(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="the warning is for machines without a GPU")
def test_gpu_recipe_on_cpu_warns_and_names_the_tiny_recipe(tiny_synth, tmp_path):
    result = invoke("train", REPO / "recipes/amuse.yaml", f"data.root={tiny_synth}",
                    f"features.cache={tmp_path}", "--dry-run")
    assert "no GPU" in result.output and "recipes/amuse-tiny.yaml" in result.output
    assert result.exit_code == 2 and "amuse extract-features" in result.output  # and the cache is missing


def test_grouped_sampler_covers_each_question_once_in_video_groups():
    videos = [i // 7 for i in range(70)]  # 10 videos of 7 questions
    s = GroupedBatchSampler(videos, batch_size=12, per_video=3, seed=5)
    for epoch in (0, 1):
        s.set_epoch(epoch)
        batches = list(s)
        assert sorted(i for b in batches for i in b) == list(range(70))
        assert all(len({videos[i] for i in b}) <= 4 for b in batches)
    s.set_epoch(0)
    again = list(GroupedBatchSampler(videos, 12, 3, seed=5))
    assert list(s) == again and list(s) != list(GroupedBatchSampler(videos, 12, 3, seed=6))
    shards = [list(GroupedBatchSampler(videos, 12, 3, seed=5, rank=r, world=2)) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1])
    assert not {i for b in shards[0] for i in b} & {i for b in shards[1] for i in b}


@pytest.mark.parametrize("recipe", sorted(str(p.relative_to(REPO)) for p in (REPO / "recipes").rglob("*.yaml")))
def test_every_recipe_resolves_and_says_how_to_run_it(recipe):
    text = (REPO / recipe).read_text()
    head = [line for line in text.splitlines()[:6] if line.startswith("#")]
    assert 3 <= len(head) and "amuse train" in " ".join(head), "3-5 line header with the command"
    cfg = config.load(REPO / recipe)
    builder = registry.get("model", cfg["model"]["name"])
    assert set(cfg["model"]) - {"name"} <= set(registry.settings(builder))
