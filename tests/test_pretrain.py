"""`amuse pretrain` and the grounded head through the real CLI on tiny_synth: a perception file,
the grounded recipe trained and evaluated on it, the gated recipe reusing it frozen, bad input."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from amuse_cli.cli import cli

REPO = Path(__file__).resolve().parents[1]
TINY, GROUNDED = str(REPO / "recipes/amuse-tiny.yaml"), str(REPO / "recipes/amuse-grounded.yaml")
FAST = ["train.epochs=1", "train.batch_size=8", "train.questions_per_video=2", "eval.batch_size=16"]

pytestmark = pytest.mark.usefixtures("one_thread")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def perception(tiny_features, tiny_synth):
    work, overrides = tiny_features
    out = work / "pretrained" / "perception.pt"
    torch.set_num_threads(1)
    result = invoke("pretrain", TINY, *overrides, f"pretrain.root={tiny_synth}", "pretrain.epochs=1",
                    "pretrain.audio_epochs=2", "pretrain.batch_size=4", "pretrain.detector_epochs=1",
                    "pretrain.crop_epochs=1", "--out", out)
    assert result.exit_code == 0, result.output
    return out


def test_pretrain_writes_a_perception_file(perception):
    state = torch.load(perception, weights_only=True)
    assert state["kind"] == "amuse-perception"
    assert state["config"]["columns"] == 4 and state["config"]["image_size"] == 64 and state["config"]["slots"] == 6
    assert {"present_acc", "class_acc", "playing_acc", "heard_f1", "det_recall", "det_precision", "count_acc",
            "crop_class_acc", "playing_balanced_acc"} <= set(state["held_out"])
    assert {"visual", "audio", "scene_visual", "scene_audio", "performers"} <= set(state)
    made = state["trained_on"]                   # which generator and seed made the pretraining set
    assert made["generator"] == "amuse-synth 3" and made["world"] == "stage" and made["set_seed"] == 3


def test_audio_refit_from_a_file_changes_only_the_audio_head(perception, tiny_features, tiny_synth, tmp_path):
    _, overrides = tiny_features
    out = tmp_path / "refit.pt"
    result = invoke("pretrain", TINY, *overrides, f"pretrain.root={tiny_synth}", "pretrain.epochs=0",
                    "pretrain.audio_epochs=2", f"pretrain.init={perception}", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    before, after = torch.load(perception, weights_only=True), torch.load(out, weights_only=True)
    for part in ("visual", "audio", "scene_visual", "performers"):     # performers carried over from init
        assert all(torch.equal(before[part][k], after[part][k]) for k in before[part]), part
    assert any(not torch.equal(before["scene_audio"][k], after["scene_audio"][k]) for k in before["scene_audio"])
    assert after["trained_on"]["init"] == str(perception) and after["trained_on"]["audio_epochs"] == 2
    assert after["trained_on"]["init_trained_on"]["epochs"] == 1 and "heard_f1" in after["held_out"]


def test_grounded_trains_and_evaluates_on_every_test_question(perception, tiny_features, tiny_synth):
    work, overrides = tiny_features
    old = os.getcwd()
    os.chdir(work)
    try:
        result = invoke("train", GROUNDED, *overrides, *FAST, f"model.weights={perception}", "--run-name", "g",
                        "--no-progress")
        assert result.exit_code == 0, result.output
        run = work / "checkpoints" / "amuse-grounded" / "g"
        result = invoke("eval", run, "--split", "test")
        assert result.exit_code == 0, result.output
    finally:
        os.chdir(old)
    metrics = json.loads((run / "metrics-test.json").read_text())
    questions = json.loads((tiny_synth / "json" / "avqa-test.json").read_text())
    assert metrics["cells"]["Avg"]["n"] == len(questions)
    # perception stayed frozen: the run's streams equal the pretrained file's
    best = torch.load(run / "best.pt", weights_only=True)["model"]
    pre = torch.load(perception, weights_only=True)
    for name, value in pre["visual"].items():
        assert torch.equal(best[f"visual.{name}"], value), name
    for name, value in pre["performers"].items():                   # the scene came from the performers found
        assert torch.equal(best[f"performers.{name}"], value), name


def test_scene_computed_once_per_video_equals_the_scene_computed_per_batch(perception, tiny_features):
    from amuse_cli import config
    from amuse_cli.features.lookup import open_cache
    from amuse_cli.data.vocab import Vocab
    from amuse_cli.engine import datasets
    from amuse_cli import registry
    work, overrides = tiny_features
    cfg = config.load(GROUNDED, [*overrides, f"model.weights={perception}"])
    cache, recs = open_cache(cfg), datasets.load_split(cfg, "val")
    vocab = Vocab.build(recs)
    model = registry.create("model", cfg["model"], datasets.spec(cfg, cache.shapes, vocab)).eval()
    ds = datasets.dataset(cfg, recs, cache, vocab)
    pre = datasets.with_scenes(ds, model, torch.device("cpu"))
    assert "frames" not in pre[0] and "cols" in pre[0]
    batch = torch.utils.data.default_collate([ds[i] for i in range(4)])
    batch_pre = torch.utils.data.default_collate([pre[i] for i in range(4)])
    with torch.no_grad():
        assert torch.allclose(model(batch), model(batch_pre), atol=1e-5)


def test_gated_amuse_reuses_the_perception_with_streams_frozen_except_norms(perception, tiny_features):
    work, overrides = tiny_features
    old = os.getcwd()
    os.chdir(work)
    try:
        result = invoke("train", TINY, *overrides, *FAST, "stage1.epochs=1", f"model.weights={perception}",
                        "model.rois=performers", "--run-name", "gated-pre", "--no-progress")
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    best = torch.load(work / "checkpoints" / "amuse-tiny" / "gated-pre" / "best.pt", weights_only=True)["model"]
    pre = torch.load(perception, weights_only=True)["visual"]
    frozen = [n for n in pre if "norm" not in n and n != "pos"]
    assert frozen and all(torch.equal(best[f"visual.{n}"], pre[n]) for n in frozen)
    assert any(k.startswith("fusion.branches.rois.") for k in best)      # the region branch is in the fusion
    performers = torch.load(perception, weights_only=True)["performers"]
    assert all(torch.equal(best[f"regions.scene.{n}"], v) for n, v in performers.items())   # regions frozen


def test_region_branch_off_and_unknown_sources(perception, tiny_features):
    from amuse_cli import registry
    from amuse_cli.errors import ConfigError
    from amuse_cli.models.inputs import ModelSpec
    spec = ModelSpec({"frames": [8, 3, 256, 256], "logmel": [8, 128, 100]}, 20, 14, 42, 33, tuple(f"w{i}" for i in range(20)))
    plain = registry.create("model", {"name": "amuse", "size": "tiny", "weights": str(perception), "rois": "none"}, spec)
    assert plain.regions is None and "rois" not in plain.fusion.branches
    with pytest.raises(ConfigError, match="model.rois='boxes'"):
        registry.create("model", {"name": "amuse", "size": "tiny", "weights": str(perception), "rois": "boxes"}, spec)
    with pytest.raises(ConfigError, match="needs a perception file with a performer detector"):
        registry.create("model", {"name": "amuse", "size": "tiny", "weights": "none", "rois": "performers"}, spec)


def test_bad_pretrain_and_grounded_settings_end_in_one_line(tiny_features, tmp_path):
    work, overrides = tiny_features
    result = invoke("pretrain", TINY, *overrides, f"pretrain.root={tmp_path}", "--out", tmp_path / "p.pt")
    assert result.exit_code == 2 and "amuse synth --out" in result.output and "Traceback" not in result.output
    result = invoke("train", GROUNDED, *overrides, "model.adapters=full", "model.weights=none", "--dry-run")
    assert result.exit_code == 2 and "model.adapters=none" in result.output


@pytest.mark.parametrize("name", ["audio_only", "visual_only", "st_avqa", "lavish", "amuse"])
def test_every_stream_model_loads_the_perception_file_frozen_except_norms(name, perception):
    from amuse_cli import registry
    from amuse_cli.models.inputs import ModelSpec
    spec = ModelSpec({"frames": [8, 3, 256, 256], "logmel": [8, 128, 100]}, 20, 14, 42, 33, tuple(f"w{i}" for i in range(20)))
    model = registry.create("model", {"name": name, "size": "tiny", "weights": str(perception)}, spec)
    pre = torch.load(perception, weights_only=True)
    for stream in ("visual", "audio"):
        mod = getattr(model, stream, None)
        if mod is None:
            continue
        for n, prm in mod.named_parameters():
            assert torch.equal(prm.detach(), pre[stream][n]), n
            assert prm.requires_grad == ("norm" in n or n == "pos"), n


def test_audio_refit_on_sound_only_draws(perception, tiny_features, tiny_synth, tmp_path):
    """pretrain.audio_draws: scenes of the set's world rendered as sound only join the audio refit; their
    windows match what synth + extract give the same scene (up to the mp4's AAC), and a second run reads
    them back from features.cache instead of rendering them again."""
    import numpy as np

    from amuse_cli import config
    from amuse_cli.engine.audio_draws import audio_draws, draw_spec
    from amuse_cli.features.lookup import open_cache

    _, overrides = tiny_features
    draws = ["pretrain.audio_draws=3", "pretrain.audio_draws_seed=3"]   # tiny_synth's own seed: compare below
    out = tmp_path / "drawn.pt"
    result = invoke("pretrain", TINY, *overrides, f"pretrain.root={tiny_synth}", "pretrain.epochs=0",
                    "pretrain.audio_epochs=1", f"pretrain.init={perception}", *draws, "--out", out)
    assert result.exit_code == 0, result.output
    assert "rendering 3 stage scenes of seed 3" in result.output
    made = torch.load(out, weights_only=True)["trained_on"]
    assert made["audio_draws"] == 3 and made["audio_draws_seed"] == 3
    cfg = config.load(TINY, [*overrides, f"pretrain.root={tiny_synth}", *draws])
    assert draw_spec(cfg)["seconds"] == 6.0 and draw_spec(cfg)["size"] == [160, 120]   # the set's own scenes
    arrays = audio_draws(cfg, progress=False)                       # read back, not rendered again
    assert arrays["logmel"].shape == (3, 8, 128, 100) and arrays["logmel"].dtype == torch.float16
    extracted = open_cache(cfg).arrays("00000000")
    assert np.array_equal(arrays["frame_mask"][0].numpy(), np.array(extracted["frame_mask"]))
    drawn, real = arrays["logmel"][0].float().numpy(), np.array(extracted["logmel"])
    loud = real > np.percentile(real, 50)                          # AAC drops only the quietest detail
    assert np.abs(drawn - real)[loud].mean() < 0.5, np.abs(drawn - real)[loud].mean()


def test_frame_tagger_joins_a_file_without_one_and_the_grounded_model_reads_it(perception, tiny_features, tiny_synth,
                                                                                 tmp_path, monkeypatch):
    work, overrides = tiny_features
    out = tmp_path / "tagged.pt"
    result = invoke("pretrain", TINY, *overrides, f"pretrain.root={tiny_synth}", "pretrain.epochs=0",
                    "pretrain.audio_epochs=1", "pretrain.frame_tagger=8", f"pretrain.init={perception}",
                    "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    before, after = torch.load(perception, weights_only=True), torch.load(out, weights_only=True)
    assert after["config"]["frame_tagger"] == 8 and "frame_tagger" not in before["config"]
    assert after["scene_audio"]["frames.net.0.weight"].shape == (8, 128, 3)
    # continuing from it keeps the tagger without being asked again
    again = tmp_path / "again.pt"
    result = invoke("pretrain", TINY, *overrides, f"pretrain.root={tiny_synth}", "pretrain.epochs=0",
                    "pretrain.audio_epochs=1", f"pretrain.init={out}", "--out", again, "--no-progress")
    assert result.exit_code == 0, result.output
    assert torch.load(again, weights_only=True)["config"]["frame_tagger"] == 8
    monkeypatch.chdir(work)
    result = invoke("train", GROUNDED, *overrides, *FAST, f"model.weights={again}", "--run-name", "tagged",
                    "--no-progress")
    assert result.exit_code == 0, result.output
    best = torch.load(work / "checkpoints" / "amuse-grounded" / "tagged" / "best.pt", weights_only=True)["model"]
    assert torch.equal(best["scene_audio.frames.net.0.weight"], torch.load(again, weights_only=True)["scene_audio"]
                       ["frames.net.0.weight"])


def test_audio_draws_without_their_seed_fail_in_one_line_before_any_work(tiny_features, tiny_synth, tmp_path):
    _, overrides = tiny_features
    result = invoke("pretrain", TINY, *overrides, f"pretrain.root={tiny_synth}", "pretrain.epochs=1",
                    "pretrain.audio_draws=3", "--out", tmp_path / "never.pt", "--no-progress")
    assert result.exit_code != 0 and "pretrain.audio_draws_seed" in result.output
    assert "Traceback" not in result.output and "epoch" not in result.output
    assert not (tmp_path / "never.pt").exists()
