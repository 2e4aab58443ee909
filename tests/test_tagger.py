"""The PANNs-style source tagger: batched labels, devices, weights loading and the worker estimate."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from amuse_cli.errors import AmuseError
from amuse_cli.features import rhythm, sources

SR = 16000
GiB = 1 << 30


def tiny_weights(path, width=2, legacy=False):
    torch.manual_seed(0)
    torch.save({"model": sources.Cnn14(width=width).state_dict()}, path,
               _use_new_zipfile_serialization=not legacy)
    return str(path)


def noise(seconds, sample_rate=SR, seed=0):
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal(int(seconds * sample_rate))).astype(np.float32)


@pytest.fixture(scope="module")
def labeler(tmp_path_factory):
    path = tiny_weights(tmp_path_factory.mktemp("w") / "cnn14.pth")
    return sources.TaggerLabeler(sources.load_cnn14(path), threshold=0.5)


def test_one_pass_over_a_video_equals_one_segment_at_a_time(labeler):
    audio = noise(9.0)
    bounds, mask = rhythm.segment_bounds(9.0, 3.0, 4)
    counts, levels = labeler(audio, SR, bounds, mask)
    for i in range(len(bounds)):
        one_counts, one_levels = labeler(audio, SR, bounds[i:i + 1], mask[i:i + 1])
        assert counts[i] == one_counts[0]
        np.testing.assert_allclose(levels[i], one_levels[0], atol=1e-6)
    assert counts[:3].any() and not counts[3] and not levels[3].any()   # the 4th segment is past the end


def test_several_videos_in_one_pass_equal_each_video_alone(labeler):
    videos = []
    for seed, (seconds, rate) in enumerate([(9.0, SR), (7.3, SR), (10.0, 22050), (1.1, SR), (6.0, SR)]):
        bounds, mask = rhythm.segment_bounds(seconds, 3.0, 4)
        videos.append((noise(seconds, rate, seed), rate, bounds, mask))
    videos[-1] = (np.zeros_like(videos[-1][0]),) + videos[-1][1:]       # a silent video: zeros, untagged
    alone = [labeler(*video) for video in videos]
    chunked = sources.TaggerLabeler(labeler.model, labeler.threshold, max_segments=2)
    for tagger in (labeler, chunked):
        for (counts, levels), (want_counts, want_levels) in zip(tagger.label_videos(videos), alone):
            np.testing.assert_array_equal(counts, want_counts)
            np.testing.assert_allclose(levels, want_levels, atol=1e-6)
    assert not alone[-1][0].any() and alone[0][0].any()


def test_legacy_checkpoints_load_like_mapped_ones(tmp_path):
    mapped = sources.load_cnn14(tiny_weights(tmp_path / "zip.pth"))
    legacy = sources.load_cnn14(tiny_weights(tmp_path / "old.pth", legacy=True))
    wave = torch.from_numpy(noise(3.0))[None]
    with torch.inference_mode():
        torch.testing.assert_close(mapped(wave), legacy(wave))


def test_device_rule(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert sources.tagger_device("auto") == sources.tagger_device(None) == torch.device("cpu")
    assert sources.tagger_device("CPU") == torch.device("cpu")
    for bad in ("cuda", "cuda:1", "tpu", "gpu please"):
        with pytest.raises(AmuseError, match="features.device"):
            sources.tagger_device(bad)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert sources.tagger_device("auto") == torch.device("cuda", 0)
    monkeypatch.setenv("LOCAL_RANK", "3")                     # torchrun: node-local ranks share the GPUs
    assert sources.tagger_device("auto") == torch.device("cuda", 1)
    assert sources.tagger_device("cpu") == torch.device("cpu")


def test_one_model_per_process_and_device(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("the automatic device is the GPU here; the CUDA test covers it")
    path = tiny_weights(tmp_path / "cnn14.pth")
    settings = {"tagger_weights": path, "tagger_threshold": 0.2}   # no device: auto
    try:
        first = sources.build_tagger(settings)
        assert sources.build_tagger(dict(settings)) is first and first.device == torch.device("cpu")
        other = sources.build_tagger({**settings, "tagger_threshold": 0.5, "device": "cpu"})
        assert other is not first and other.model is first.model   # thresholds share the model
        sources.release_taggers()
        assert sources.build_tagger(settings).model is not first.model
    finally:
        sources.release_taggers()


def test_max_tagger_workers_scales_with_memory(tmp_path):
    path = tiny_weights(tmp_path / "cnn14.pth")
    assert sources.max_tagger_workers(path, available_bytes=0) == 1
    small, large = (sources.max_tagger_workers(path, available_bytes=n * GiB) for n in (8, 32))
    assert 1 <= small < large and large >= 3 * small
    assert sources.max_tagger_workers(path) >= 1                      # this machine's MemAvailable
    # a release-size legacy file cannot be mapped: each worker holds its own copy, so fewer fit
    release = tmp_path / "legacy.pth"
    with open(release, "wb") as f:
        f.truncate(4 * sources.RELEASE_PARAMETERS)                     # sparse: no disk used
    worker = sources.tagger_worker_bytes(release)
    assert worker["shared"] == 0 and worker["host"] > sources.WORKER_RUNTIME_BYTES + release.stat().st_size
    assert sources.max_tagger_workers(release, available_bytes=32 * GiB) < large
    assert abs(sources.tagger_width(release.stat().st_size) - 64) < 0.5
    # on CUDA the GPU's free memory caps the workers too (given here: no GPU needed)
    gpu = [sources.max_tagger_workers(path, available_bytes=64 * GiB, device="cuda",
                                      gpu_available_bytes=n * GiB) for n in (0, 2, 8)]
    assert gpu[0] == 1 and 1 < gpu[1] < gpu[2] < sources.max_tagger_workers(path, available_bytes=64 * GiB)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_labels_match_cpu(tmp_path):
    path = tiny_weights(tmp_path / "cnn14.pth", width=8)
    cpu = sources.TaggerLabeler(sources.load_cnn14(path), threshold=0.5)
    gpu = sources.TaggerLabeler(sources.load_cnn14(path, "cuda"), threshold=0.5)
    assert gpu.device.type == "cuda" and sources.tagger_device("auto").type == "cuda"
    tf32 = torch.backends.cudnn.allow_tf32
    videos = [(noise(s, SR, seed), SR, *rhythm.segment_bounds(s, 3.0, 4))
              for seed, s in enumerate((9.0, 7.3))]
    for (c_counts, c_levels), (g_counts, g_levels) in zip(cpu.label_videos(videos), gpu.label_videos(videos)):
        np.testing.assert_allclose(g_levels, c_levels, atol=1e-4)
        assert (g_counts == c_counts).mean() >= 0.9          # a probability on the threshold may flip
    assert torch.backends.cudnn.allow_tf32 == tf32           # exact_fp32 restores the global flags
