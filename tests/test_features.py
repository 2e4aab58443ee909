"""Feature units: settings hash, log-mel windows, tempo and rhythm labels, truth, source labelers."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from amuse_cli import config
from amuse_cli.data.taxonomy import INSTRUMENTS
from amuse_cli.errors import AmuseError
from amuse_cli.features import logmel, rhythm, settings, sources, truth
from amuse_cli.features.extract import extract_video, extract_with_info
from test_media import SR, clicks, write_mp4


def recipe_cfg(**features):
    cfg = config.load("recipes/amuse.yaml")
    cfg["features"].update(features)
    return cfg


def test_hash_covers_every_setting_but_the_cache_location():
    base = recipe_cfg()
    h = settings.settings_hash(settings.extraction_settings(base))
    for key, value in [("frames", 16), ("frame_size", 224), ("n_mels", 64), ("rhythm_theta", 0.3),
                       ("segment_seconds", 6.0), ("source_method", "tagger"), ("clip_seconds", 60.0)]:
        other = recipe_cfg(**{key: value})
        assert settings.settings_hash(settings.extraction_settings(other)) != h, key
    moved = recipe_cfg(cache="/elsewhere")
    assert settings.settings_hash(settings.extraction_settings(moved)) == h
    assert settings.cache_dir(moved).parent.as_posix() == "/elsewhere"
    assert settings.cache_dir(moved).name == settings.cache_dir(base).name      # the location is not a setting
    # two datasets whose folders share a name never share a cache; the same dataset always does
    namesake = {**base, "data": {**base["data"], "root": "/other/place/synth"}}
    assert settings.cache_dir(base).name.startswith("synth-")
    assert settings.cache_dir(namesake).name.startswith("synth-")
    assert settings.cache_dir(namesake) != settings.cache_dir(base)
    assert settings.cache_dir(recipe_cfg()) == settings.cache_dir(base)


def frame_windows(mel: np.ndarray, times: np.ndarray, settings: dict, hops: int) -> np.ndarray:
    """The oracle for logmel.windows_at, cut from the whole clip's fbank: float32 [T, n_mels, hops],
    a window of `hops` frames centred on each time (s), padded with silence past the audio."""
    sr = settings["sample_rate"]
    hop, win = logmel._samples(settings["hop_ms"], sr), logmel._samples(settings["win_ms"], sr)
    centre = np.rint((times * sr - win / 2) / hop).astype(int)   # fbank frame centred nearest t
    start = centre - hops // 2
    padded = np.pad(mel, ((hops, hops), (0, 0)), constant_values=logmel.LOG_FLOOR)
    idx = start[:, None] + np.arange(hops)[None, :] + hops       # [T, hops] into `padded`
    idx = np.clip(idx, 0, len(padded) - 1)
    return np.ascontiguousarray(padded[idx].transpose(0, 2, 1))


def test_logmel_window_is_centred_on_the_frame_time():
    s = settings.extraction_settings(recipe_cfg())
    audio = np.zeros(4 * SR, np.float32)
    t_click = 1.5
    audio[int(t_click * SR):int(t_click * SR) + 80] = 0.9          # a 5 ms click at 1.5 s
    mel = logmel.fbank(audio, s)
    hops = settings.window_hops(s)
    assert mel.shape[1] == s["n_mels"] and hops == 100
    win = frame_windows(mel, np.array([0.0, t_click, 3.9]), s, hops)
    assert win.shape == (3, s["n_mels"], hops)
    energy = win[1].mean(axis=0)
    assert abs(int(np.argmax(energy)) - hops // 2) <= 2          # the click sits at the window's centre
    assert (win[0][:, :hops // 2 - 2] == logmel.LOG_FLOOR).all()  # before t=0: padded silence
    # computing only the windows gives exactly the rows of the whole clip's fbank
    times = np.array([0.0, 0.3, t_click, 3.6, 4.0])
    audio += np.random.default_rng(0).standard_normal(len(audio)).astype(np.float32) * 0.01
    whole = frame_windows(logmel.fbank(audio, s), times, s, hops)
    np.testing.assert_array_equal(logmel.windows_at(audio, times, s, hops), whole)


def test_segment_bounds_and_mask():
    bounds, mask = rhythm.segment_bounds(10.0, 3.0, 5)
    assert mask.tolist() == [True, True, True, False, False]      # 1 s left over < half a segment
    np.testing.assert_allclose(bounds[:3], [[0, 3], [3, 6], [6, 9]])
    _, mask = rhythm.segment_bounds(11.0, 3.0, 5)
    assert mask.tolist() == [True, True, True, True, False]       # 2 s left over counts
    _, mask = rhythm.segment_bounds(0.4, 3.0, 3)
    assert mask.tolist() == [True, False, False]                  # a tiny clip keeps one segment


def test_change_labels_follow_the_paper_rule():
    mask = np.array([True, True, True, True, False])
    bpm = np.array([100, 100, 140, 135, 0], np.float32)             # mean 118.75, theta*mean = 29.7
    assert rhythm.change_labels(bpm, mask, 0.25).tolist() == [0, 0, 1, 0, 0]
    assert rhythm.change_labels(bpm, mask, 0.5).tolist() == [0, 0, 0, 0, 0]


@pytest.mark.parametrize("pieces", [[(0, 6, 90), (6, 12, 150)], [(0, 3, 70), (3, 9, 120), (9, 12, 70)],
                                    [(0, 12, 128)]])
def test_tempo_and_changes_from_a_click_track(pieces):
    bounds, mask = rhythm.segment_bounds(12.0, 3.0, 6)
    meta = {"tempo": [{"start": a, "end": b, "bpm": bpm} for a, b, bpm in pieces], "sources": []}
    true_bpm = truth.segment_bpm(meta, bounds, mask)
    est = rhythm.estimate_bpm(clicks(pieces, 12.0), SR, bounds, mask)
    assert est[~mask].tolist() == [0, 0]
    np.testing.assert_allclose(est[mask], true_bpm[mask], rtol=0.05)
    assert rhythm.change_labels(est, mask, 0.25).tolist() == rhythm.change_labels(true_bpm, mask, 0.25).tolist()


def test_silence_has_no_tempo():
    bounds, mask = rhythm.segment_bounds(6.0, 3.0, 2)
    assert not rhythm.estimate_bpm(np.zeros(6 * SR, np.float32), SR, bounds, mask).any()


def test_truth_from_meta():
    meta = {"tempo": [{"start": 0.0, "end": 4.5, "bpm": 80.0}, {"start": 4.5, "end": 9.0, "bpm": 160.0}],
            "sources": [{"sounding": True, "intervals": [[0.0, 9.0]]},
                        {"sounding": True, "intervals": [[2.0, 4.0]]},      # 1 s of [0,3): less than half
                        {"sounding": False, "intervals": []},
                        {"sounding": True, "intervals": [[3.0, 4.6]]}]}    # 1.6 s of [3,6): counts
    bounds, mask = rhythm.segment_bounds(9.0, 3.0, 4)
    t = truth.segment_truth(meta, bounds, mask, 0.25)
    np.testing.assert_allclose(t["bpm"], [80, 120, 160, 0])              # [3,6): half 80, half 160
    assert t["sources"].tolist() == [1, 2, 1, 0]
    assert t["rhythm"].tolist() == [0, 1, 1, 0]


def test_source_classes_are_the_heard_fraction_per_class():
    meta = {"sources": [{"instrument": "violin", "sounding": True, "intervals": [[0.0, 1.5], [2.0, 2.5]]},
                        {"instrument": "violin", "sounding": True, "intervals": [[0.0, 3.0], [3.0, 9.0]]},
                        {"instrument": "piano", "sounding": True, "intervals": [[4.5, 6.0]]},
                        {"instrument": "drum", "sounding": False, "intervals": [[0.0, 9.0]]}]}  # seen, silent
    bounds, mask = rhythm.segment_bounds(7.5, 3.0, 4)      # [0,3) [3,6) [6,7.5) and one past the end
    levels = truth.segment_source_classes(meta, bounds, mask)
    violin, piano, drum = (INSTRUMENTS.index(c) for c in ("violin", "piano", "drum"))
    assert levels.shape == (4, len(INSTRUMENTS))
    np.testing.assert_allclose(levels[:, violin], [1.0, 1.0, 1.0, 0.0])   # two violins: capped at 1
    np.testing.assert_allclose(levels[:, piano], [0.0, 0.5, 0.0, 0.0])
    assert not levels[:, drum].any() and levels.sum() == pytest.approx(3.5)


def tiny_cnn14(path, width=2):
    torch.manual_seed(0)
    model = sources.Cnn14(width=width)
    torch.save({"model": model.state_dict()}, path)
    return model.eval()


def test_tagger_counts_instrument_families_from_weights_file(tmp_path):
    model = tiny_cnn14(tmp_path / "cnn14.pth")
    fam = sources.instrument_families()
    assert sources.FIRST_INSTRUMENT_INDEX + len(sources.AUDIOSET_INSTRUMENTS) - 1 == 214  # Singing bowl
    assert min(fam) == 140 and max(fam) == 214                                          # Guitar..
    assert "Guitar" in fam.values() and "Musical instrument" not in fam.values()
    audio = clicks([(0, 6, 120)], 6.0)
    bounds, mask = rhythm.segment_bounds(6.0, 3.0, 3)
    lab = sources.TaggerLabeler(sources.load_cnn14(tmp_path / "cnn14.pth"), threshold=0.5)
    probs = lab.probabilities(audio, SR, bounds[mask])
    with torch.inference_mode():
        direct = model(torch.from_numpy(audio[:3 * SR])[None])
    torch.testing.assert_close(probs[0], direct[0], atol=1e-5, rtol=1e-4)
    # expected counts: families with any member class >= threshold
    expect = [len({fam[i] for i in fam if probs[k, i] >= 0.5}) for k in range(2)]
    got, levels = lab(audio, SR, bounds, mask)
    assert got.tolist() == expect + [0]
    n_families = len(set(fam.values()))
    assert sources.TaggerLabeler(lab.model, 0.0)(audio, SR, bounds, mask)[0].tolist() == [n_families] * 2 + [0]
    assert sources.TaggerLabeler(lab.model, 1.01)(audio, SR, bounds, mask)[0].tolist() == [0, 0, 0]
    # class levels: the highest probability among each class's AudioSet classes; none past the video
    assert levels.shape == (3, len(INSTRUMENTS)) and not levels[2].any()
    audioset = {n: sources.FIRST_INSTRUMENT_INDEX + i for i, n in enumerate(sources.AUDIOSET_INSTRUMENTS)}
    for c, names in sources.INSTRUMENT_AUDIOSET.items():
        want = max(float(probs[0, audioset[n]]) for n in names)
        assert levels[0, INSTRUMENTS.index(c)] == pytest.approx(want, abs=1e-6)
    assert set(sources.INSTRUMENT_AUDIOSET) == set(INSTRUMENTS)


def test_tagger_without_weights_says_how_to_get_them(tmp_path):
    with pytest.raises(AmuseError, match="download .*zenodo.*features.tagger_weights="):
        sources.build_tagger({"tagger_weights": None, "tagger_threshold": 0.2})
    with pytest.raises(AmuseError, match="not found"):
        sources.load_cnn14(tmp_path / "missing.pth")
    (tmp_path / "bad.pth").write_text("not a checkpoint")
    with pytest.raises(AmuseError, match="not a PyTorch checkpoint"):
        sources.load_cnn14(tmp_path / "bad.pth")
    torch.save({"model": {"fc.weight": torch.zeros(2, 2)}}, tmp_path / "other.pth")
    with pytest.raises(AmuseError, match="not Cnn14 weights"):
        sources.load_cnn14(tmp_path / "other.pth")


def test_extract_video_shapes_and_dtypes(tmp_path):
    s = settings.extraction_settings(recipe_cfg(frames=4, frame_size=32, n_mels=32, segments=4))
    audio = clicks([(0, 3, 90), (3, 7, 160)], 7.0)
    path = write_mp4(tmp_path / "v.mp4", seconds=7.0, fps=6, audio=audio)
    meta = {"tempo": [{"start": 0, "end": 3, "bpm": 90.0}, {"start": 3, "end": 7, "bpm": 160.0}],
            "sources": [{"sounding": True, "intervals": [[0.0, 7.0]]}]}
    arrays = extract_video(path, s, meta)
    shapes = settings.array_shapes(s)
    assert set(arrays) == set(shapes)
    for k, v in arrays.items():
        assert list(v.shape) == shapes[k], k
    assert arrays["frames"].dtype == np.uint8 and arrays["logmel"].dtype == np.float16
    assert arrays["frame_mask"].dtype == bool and arrays["segment_mask"].tolist() == [True, True, False, False]
    assert arrays["sources"].tolist() == [1, 1, 0, 0] and arrays["rhythm"].tolist() == [0, 1, 0, 0]
    with pytest.raises(AmuseError, match="source_method=tagger"):
        extract_with_info(path, s, meta=None)                  # the cache needs truth for meta labels
    no_truth = extract_video(path, s, meta=None)               # predict does not: zeros
    assert not no_truth["sources"].any() and (no_truth["frames"] == arrays["frames"]).all()
    tagged = copy.deepcopy(s)
    tagged.update(source_method="tagger", tagger_weights=str(tmp_path / "w.pth"))
    tiny_cnn14(tmp_path / "w.pth")
    assert extract_video(path, tagged)["sources"].shape == (4,)
