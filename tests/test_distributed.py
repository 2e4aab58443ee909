"""The same `amuse train` under torchrun: 2 CPU processes with gloo, rank 0 writes, ranks agree."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="no gloo backend")
def test_two_gloo_processes_train_one_run_and_agree(tiny_features, tmp_path):
    _, overrides = tiny_features
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "amuse_cli",
           "train", str(REPO / "recipes/amuse-tiny.yaml"), *overrides, "train.epochs=1", "stage1.epochs=1",
           "train.batch_size=8", "train.questions_per_video=2", "eval.batch_size=16", "--run-name", "ddp",
           "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # its own session, so a timeout ends torchrun's workers too (killing torchrun alone orphans them)
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.skip("torchrun did not finish in time on this machine")
    res = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    if res.returncode != 0 and ("errno: 97" in res.stderr or "Address family not supported" in res.stderr):
        pytest.skip("no local networking for the gloo rendezvous")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "ranks agree: 2 processes" in res.stdout
    assert "global batch 16" in res.stdout
    assert res.stdout.count("run folder ") == 1  # rank 0 alone reports and writes
    run = tmp_path / "checkpoints/amuse-tiny/ddp"
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert len([r for r in rows if r["stage"] == "qa"]) == 1  # one writer: no duplicated lines
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 1
