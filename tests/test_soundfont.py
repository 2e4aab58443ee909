"""`amuse synth --audio soundfont`: GM mapping, sample-exact note events, TinySoundFont rendering, the card.

Everything here runs from pip packages alone (tinysoundfont, and pretty_midi's TimGM6mb.sf2).
"""
from __future__ import annotations

import numpy as np
import pytest

from amuse_cli.data.taxonomy import INSTRUMENTS
from amuse_cli.errors import AmuseError
from amuse_cli.synth import soundfont as sf
from amuse_cli.synth.generate import SynthOptions

SR = 16000


@pytest.fixture(scope="module")
def soundfont_file():
    return sf.resolve(None)          # the font pretty_midi ships: no system package


def test_every_class_has_a_gm_sound_and_approximations_say_so():
    assert set(sf.GM_PROGRAMS) | set(sf.GM_DRUMS) == set(INSTRUMENTS)
    assert all(1 <= p <= 128 for p, _, _ in sf.GM_PROGRAMS.values())
    approx = {c for c, (_, _, note) in sf.GM_PROGRAMS.items() if note}
    assert {"erhu", "guzheng", "pipa", "suona", "ukulele"} <= approx
    assert not {"violin", "cello", "piano", "flute"} & approx
    programs = [p for p, _, _ in sf.GM_PROGRAMS.values()]
    assert len(set(programs)) == len(programs)          # no two classes share a sound (guitar steel, ukulele nylon)


def test_note_events_are_sample_exact_and_offs_sort_first():
    notes = [{"t": 0.5, "dur": 0.25, "pitch": 60, "velocity": 1.0},
             {"t": 0.75, "dur": 0.5, "pitch": 60, "velocity": 0.55}]
    ev = sf.note_events(notes, SR)
    assert ev == [(8000, 1, 60, sf.VELOCITY_MAX), (12000, 0, 60, 0), (12000, 1, 60, round(0.55 * sf.VELOCITY_MAX)),
                  (20000, 0, 60, 0)]


def test_bad_soundfont_specs_fail_in_one_line(tmp_path, monkeypatch):
    with pytest.raises(AmuseError, match="no such file"):
        SynthOptions(audio=f"soundfont={tmp_path / 'none.sf2'}").check()
    with pytest.raises(AmuseError, match="give synthetic, soundfont or soundfont=FILE.sf2"):
        SynthOptions(audio="fluid").check()
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"not a soundfont")
    with pytest.raises(AmuseError, match="not a usable SoundFont"):
        sf.render_notes("piano", [{"t": 0, "dur": 0.1, "pitch": 60, "velocity": 1.0}], SR, SR, junk)
    monkeypatch.setitem(__import__("sys").modules, "tinysoundfont", None)      # not installed
    with pytest.raises(AmuseError, match="pip install --no-deps tinysoundfont"):
        SynthOptions(audio="soundfont").check()


def test_drum_classes_sound_on_the_gm_kit(soundfont_file):
    audio = sf.render_notes("drum", [{"t": 0.5, "dur": 0.1, "pitch": 36, "velocity": 1.0}], SR, SR, soundfont_file)
    assert np.abs(audio[:SR // 2 - 10]).max() == 0 and np.abs(audio[SR // 2:]).max() > 0.05


def test_rendered_notes_sound_where_the_notes_are(soundfont_file):
    notes = [{"t": t, "dur": 0.2, "pitch": 69, "velocity": 1.0} for t in (0.5, 1.5)]
    audio = sf.render_notes("piano", notes, 3 * SR, SR, soundfont_file)
    assert audio.shape == (3 * SR,) and audio.dtype == np.float32
    rms = np.sqrt([np.mean(audio[int(a * SR):int((a + 0.1) * SR)] ** 2) for a in (0.0, 0.35, 0.5, 1.5)])
    assert rms[0] < 1e-4 and rms[1] < 1e-4 and rms[2] > 100 * max(rms[0], 1e-6) and rms[3] > 100 * max(rms[0], 1e-6)
    spectrum = np.abs(np.fft.rfft(audio[int(0.55 * SR):int(0.65 * SR)] * np.hanning(int(0.1 * SR))))
    assert abs(np.argmax(spectrum) * 10.0 - 440.0) <= 20                    # A4 = 440 Hz, 10 Hz bins


def test_synth_cli_with_a_soundfont_writes_the_card(tmp_path, run_cli, soundfont_file):
    out = tmp_path / "sf"
    res = run_cli("synth", "--out", out, "--videos", 2, "--seconds", 3, "--size", "64x64", "--fps", 2,
                  "--workers", 1, "--no-progress", "--audio", f"soundfont={soundfont_file}")
    assert res.exit_code == 0, res.output
    card = (out / "README.md").read_text()
    assert "Audio: tinysoundfont" in card and soundfont_file.name in card and f"--audio soundfont={soundfont_file}" in card
    assert "| erhu | 111 Fiddle (*approximation" in card
    assert len(list((out / "videos").glob("*.mp4"))) == 2


@pytest.mark.parametrize("instrument,bpms", [("violin", (80.0, 140.0)), ("cello", (150.0, 84.0)),
                                             ("flute", (90.0, 170.0)), ("clarinet", (96.0, 96.0))])
def test_rhythm_labels_on_sustained_soundfont_notes(soundfont_file, instrument, bpms):
    """Bowed and blown notes (legato eighths) through a real soundfont: changes of x1.75-1.9 are found on
    their boundary and a constant tempo shows no change (bench/rhythm.py measures this at scale)."""
    from amuse_cli.features import rhythm, truth
    seconds, cut = 12.0, 6.0
    notes, t, k = [], 0.0, 0
    while t < seconds - 0.05:
        step = 60.0 / (bpms[0] if t < cut - 1e-9 else bpms[1]) / 2          # eighth notes
        notes.append({"t": t, "dur": 0.95 * step, "pitch": 55 + (0, 2, 4, 7, 9, 7, 4, 2)[k % 8],
                      "velocity": 1.0 if k % 2 == 0 else 0.6})
        t, k = (cut if t < cut - 1e-9 and t + step > cut - 1e-9 else t + step), k + 1
    audio = sf.render_notes(instrument, notes, int(seconds * SR), SR, soundfont_file)
    bounds, mask = rhythm.segment_bounds(seconds, 3.0, 4)
    meta = {"tempo": [{"start": 0.0, "end": cut, "bpm": bpms[0]}, {"start": cut, "end": seconds, "bpm": bpms[1]}]}
    true_bpm = truth.segment_bpm(meta, bounds, mask)
    est = rhythm.estimate_bpm(audio, SR, bounds, mask)
    assert rhythm.change_labels(est, mask, 0.25).tolist() == truth.change_labels(true_bpm, mask, 0.25).tolist()
    ratio = est / true_bpm
    assert np.all(np.abs(np.log2(ratio) - np.round(np.log2(ratio))) < 0.06)     # right tempo up to an octave
