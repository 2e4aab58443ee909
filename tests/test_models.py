"""Models on random tensors of the Dataset's shapes (docs/INTERFACES.md §2): every registered
builder, the adapters' zero gate, per-video sharing, frozen pretrained backbones, the prior."""
from __future__ import annotations

import pytest
import torch

from amuse_cli import registry
from amuse_cli.errors import ConfigError
from amuse_cli.models import ModelSpec
from amuse_cli.models.adapters import CrossModalAdapter
from amuse_cli.models.amuse import AVQANet

T, H, M, A, S, L, V = 4, 32, 16, 20, 4, 14, 30
SPEC = ModelSpec({"frames": [T, 3, H, H], "logmel": [T, M, A], "rhythm": [S]}, V, L, 42, 33)
TINY = {"size": "tiny", "image_size": 32, "audio_size": 32, "dim": 32}

pytestmark = pytest.mark.usefixtures("one_thread")


def batch(b=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"frames": torch.randint(0, 255, (b, T, 3, H, H), generator=g, dtype=torch.uint8),
            "logmel": torch.randn(b, T, M, A, generator=g),
            "frame_mask": torch.tensor([[True] * T] * (b - 1) + [[True, True, False, False]]),
            "rhythm": torch.randint(0, 2, (b, S), generator=g).float(), "bpm": torch.full((b, S), 120.0),
            "sources": torch.randint(0, 4, (b, S), generator=g).float(),
            "source_classes": torch.rand(b, S, 22, generator=g),
            "segment_mask": torch.tensor([[True] * S] * b),
            "question": torch.randint(2, V, (b, L), generator=g),
            "answer": torch.randint(0, 42, (b,), generator=g),
            "template": torch.randint(0, 33, (b,), generator=g), "index": torch.arange(b)}


def settings_for(name):
    keys = registry.settings(registry.get("model", name))
    return {k: v for k, v in TINY.items() if k in keys}


@pytest.mark.parametrize("name", ["amuse", "prior", "question_only", "audio_only", "visual_only", "st_avqa", "lavish"])
def test_every_model_answers_42_way_and_learns(name):
    torch.manual_seed(0)
    model = registry.create("model", {"name": name, **settings_for(name)}, SPEC)
    b = batch()
    if hasattr(model, "fit_prior"):
        model.fit_prior(b["template"], b["answer"])
    logits = model(b)
    assert logits.shape == (6, 42) and torch.isfinite(logits).all()
    params = [p for p in model.parameters() if p.requires_grad]
    if name == "prior":
        assert not params
        return
    torch.nn.functional.cross_entropy(logits, b["answer"]).backward()
    assert sum(p.grad.abs().sum().item() for p in params if p.grad is not None) > 0


def test_registered_names_are_the_suite():
    assert set(registry.names("model")) >= {"amuse", "prior", "question_only", "audio_only", "visual_only",
                                             "st_avqa", "lavish"}


def test_adapter_gate_starts_at_zero_so_the_stream_is_unchanged():
    ad = CrossModalAdapter(32, 16)
    x, y = torch.randn(2, 4, 4, 32), torch.randn(2, 5, 16)
    assert torch.equal(ad(x, y), x)
    with torch.no_grad():
        ad.gate.fill_(0.5)
    assert not torch.allclose(ad(x, y), x)


def test_ablation_switches_remove_their_parts():
    full = registry.create("model", {"name": "amuse", **TINY}, SPEC)
    assert set(full.fusion.branches) == {"visual", "audio", "rhythm_audio", "rhythm_visual",
                                         "source_audio", "source_visual"}
    assert len(full.av) == 3 and len(full.qx) == 1
    plain = registry.create("model", {"name": "amuse", **TINY, "rhythm": False, "source": False,
                                      "adapters": "none"}, SPEC)
    assert set(plain.fusion.branches) == {"visual", "audio"} and plain.stage1 is None
    assert len(plain.av) == 0 and len(plain.qx) == 0
    av = registry.create("model", {"name": "amuse", **TINY, "adapters": "av"}, SPEC)
    assert len(av.av) == 3 and len(av.qx) == 0
    with pytest.raises(ConfigError, match="model.adapters"):
        registry.create("model", {"name": "amuse", **TINY, "adapters": "some"}, SPEC)


def test_questions_of_one_video_share_its_encoding_exactly():
    torch.manual_seed(0)
    model = registry.create("model", {"name": "amuse", **TINY}, SPEC).eval()
    b = batch()
    same = torch.tensor([0, 0, 1, 1, 1, 2])
    for k in ("frames", "logmel", "frame_mask", "segment_mask"):
        b[k] = b[k][same]
    with torch.no_grad():
        shared = model({**b, "video": same})
        alone = model(b)
    assert torch.allclose(shared, alone, atol=1e-5)


def test_pretrained_backbone_is_frozen_except_norms(tmp_path):
    from amuse_cli.models.swin import build_swin
    weights = tmp_path / "tiny-swin.pt"
    torch.save(build_swin("tiny").state_dict(), weights)
    model = registry.create("model", {"name": "amuse", **TINY, "weights": str(weights)}, SPEC)
    for stream in (model.visual, model.audio):
        for name, p in list(stream.stages.named_parameters()) + list(stream.embed.named_parameters()):
            assert p.requires_grad == ("norm" in name), name
    assert all(p.requires_grad for p in model.av.parameters())
    scratch = registry.create("model", {"name": "amuse", **TINY}, SPEC)
    assert all(p.requires_grad for p in scratch.visual.parameters())


def test_default_weights_are_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="downloads nothing.*model.weights=none"):
        registry.create("model", {"name": "amuse", "size": "base", "weights": "DEFAULT"}, SPEC)


def test_prior_answers_the_majority_of_each_template():
    model = registry.create("model", {"name": "prior"}, SPEC)
    templates = torch.tensor([0, 0, 0, 5, 5])
    answers = torch.tensor([1, 1, 0, 7, 7])
    model.fit_prior(templates, answers)
    b = batch(3)
    b["template"] = torch.tensor([0, 5, -1])  # -1: free text -> majority over all
    assert model(b).argmax(-1).tolist() == [1, 7, 1]


def test_gpu_recipe_model_is_swin_v2_t_at_256():
    model = AVQANet(SPEC, size="base")
    assert model.visual.image_size == 256 and model.visual.dims[-1] == 768


def test_audio_source_branch_learns_instrument_classes_from_their_spectra():
    """Stage 1's class levels: three 'timbres' (harmonic spacings), each played at a random pitch
    shift, are told apart from held-out clips after a short fit: the timbre is learnt, not the bin."""
    from amuse_cli.models.temporal import RhythmSourceBranches
    mels, classes = 40, 3

    def clips(n, seed):
        g = torch.Generator().manual_seed(seed)
        k = torch.randint(0, classes, (n,), generator=g)
        logmel = torch.randn(n, T, mels, A, generator=g) * 0.3
        for i in range(n):
            base = 4 + int(torch.randint(0, 6, (1,), generator=g))           # the pitch moves the pattern
            for h in range(4):
                logmel[i, :, min(mels - 1, base + h * (3 + 2 * int(k[i]))), :] += 3.0
        levels = torch.zeros(n, S, 22)
        levels[torch.arange(n), :, k] = 1.0
        return {"logmel": logmel, "frame_mask": torch.ones(n, T, dtype=torch.bool),
                "segment_mask": torch.ones(n, S, dtype=torch.bool), "sources": torch.ones(n, S),
                "source_classes": levels}, k

    torch.manual_seed(0)
    branches = RhythmSourceBranches(["source"], ["audio"], 16)
    opt = torch.optim.Adam(branches.parameters(), lr=3e-3)
    for step in range(150):
        batch, _ = clips(16, step)
        loss = branches.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    batch, k = clips(60, 999)
    enc = branches.encoders["source_audio"]
    with torch.no_grad():
        levels = enc.head(enc(batch))[..., 1:1 + classes].mean(1)             # [clips, classes]
    assert (levels.argmax(-1) == k).float().mean() >= 0.9
