"""CUDA only (skipped elsewhere): mixed-precision training steps of the Amuse model, and the real CLI
training and evaluating on the GPU in bf16. CI has no GPU; these run on a lent GPU machine."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from amuse_cli import config, registry
from amuse_cli.data.taxonomy import ANSWERS, TEMPLATE_IDS
from amuse_cli.engine.batches import autocast
from amuse_cli.features.settings import array_shapes, extraction_settings
from amuse_cli.models import ModelSpec

REPO = Path(__file__).resolve().parents[1]
CUDA = torch.cuda.is_available()
pytestmark = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
HAS_MEDIA = all(importlib.util.find_spec(m) for m in ("av", "librosa"))


def random_batch(cfg: dict, batch: int, per_video: int, device) -> dict:
    shapes = array_shapes(extraction_settings(cfg))
    g = torch.Generator().manual_seed(0)
    videos = -(-batch // per_video)
    video = torch.arange(batch) // per_video
    out = {"frames": torch.randint(0, 255, (videos, *shapes["frames"]), generator=g, dtype=torch.uint8)[video],
           "logmel": torch.randn((videos, *shapes["logmel"]), generator=g)[video],
           "frame_mask": torch.ones(batch, shapes["frames"][0], dtype=torch.bool),
           "segment_mask": torch.ones(batch, shapes["rhythm"][0], dtype=torch.bool),
           "question": torch.randint(1, 50, (batch, cfg["data"]["max_tokens"]), generator=g),
           "answer": torch.randint(0, len(ANSWERS), (batch,), generator=g), "video": video}
    return {k: v.to(device) for k, v in out.items()}, shapes


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_amuse_tiny_fits_a_batch_in_mixed_precision(precision):
    """A fixed batch is learnt (loss falls) under autocast; fp16 goes through a GradScaler."""
    dev = torch.device("cuda")
    cfg = config.load(REPO / "recipes/amuse-tiny.yaml", [])
    batch, shapes = random_batch(cfg, 16, 4, dev)
    torch.manual_seed(0)
    model = registry.create("model", cfg["model"], ModelSpec(shapes, 50, cfg["data"]["max_tokens"], len(ANSWERS),
                                                             len(TEMPLATE_IDS))).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
    losses = []
    for _ in range(30):
        with autocast(precision, dev):
            loss = torch.nn.functional.cross_entropy(model(batch).float(), batch["answer"])
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.5 * losses[0], losses


def test_bf16_logits_follow_fp32():
    dev = torch.device("cuda")
    cfg = config.load(REPO / "recipes/amuse-tiny.yaml", [])
    batch, shapes = random_batch(cfg, 8, 2, dev)
    torch.manual_seed(0)
    model = registry.create("model", cfg["model"], ModelSpec(shapes, 50, cfg["data"]["max_tokens"], len(ANSWERS),
                                                             len(TEMPLATE_IDS))).to(dev).eval()
    with torch.no_grad():
        full = model(batch).float()
        with autocast("bf16", dev):
            half = model(batch).float()
    cos = torch.nn.functional.cosine_similarity(full, half, dim=-1)
    assert cos.min() > 0.98, cos


@pytest.mark.skipif(not HAS_MEDIA, reason="needs PyAV and librosa to build the tiny dataset")
def test_cli_trains_and_evaluates_on_the_gpu_in_bf16(tiny_features, tmp_path, monkeypatch):
    from amuse_cli.cli import cli
    work, overrides = tiny_features
    monkeypatch.chdir(tmp_path)
    fast = ["train.epochs=2", "stage1.epochs=1", "train.batch_size=8", "train.questions_per_video=2",
            "train.precision=bf16", "eval.batch_size=16"]
    result = CliRunner().invoke(cli, ["train", str(REPO / "recipes/amuse-tiny.yaml"), *overrides, *fast,
                                      "--run-name", "gpu", "--no-progress"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "device cuda" in result.output
    run = tmp_path / "checkpoints" / "amuse-tiny" / "gpu"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["peak_mem_gb"] > 0 and rows[-1]["samples_per_s"] > 0
    result = CliRunner().invoke(cli, ["eval", str(run), "--split", "test"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    preds = [json.loads(line) for line in (run / "predictions-test.jsonl").read_text().splitlines()]
    metrics = json.loads((run / "metrics-test.json").read_text())
    correct = sum(p["prediction"] == p["answer"] for p in preds)
    assert metrics["questions"] == len(preds) == metrics["cells"]["Avg"]["n"]
    assert metrics["cells"]["Avg"]["correct"] == correct
