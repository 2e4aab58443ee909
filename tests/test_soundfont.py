"""`amuse synth --audio soundfont`: GM mapping, MIDI files, FluidSynth rendering, the card.

Rendering tests need the `fluidsynth` program and a GM soundfont (CI installs them: .ci/run);
elsewhere they skip, saying what to install.
"""
from __future__ import annotations

import struct

import numpy as np
import pytest

from amuse_cli.data.taxonomy import INSTRUMENTS
from amuse_cli.errors import AmuseError
from amuse_cli.synth import soundfont as sf
from amuse_cli.synth.generate import SynthOptions

SR = 16000


@pytest.fixture(scope="module")
def soundfont_file():
    if sf.fluidsynth_path() is None:
        pytest.skip("the `fluidsynth` program is not installed (apt-get install fluidsynth timgm6mb-soundfont)")
    small = [p for p in (sf.find_soundfont(),) if p is not None and p.is_file()]
    tim = [d for d in sf.SOUNDFONT_DIRS if (sf.Path(d) / "TimGM6mb.sf2").is_file()]
    if tim:                                   # the small one is enough and loads fastest
        return sf.Path(tim[0]) / "TimGM6mb.sf2"
    if not small:
        pytest.skip(f"no GM soundfont in {', '.join(sf.SOUNDFONT_DIRS)} (apt-get install timgm6mb-soundfont)")
    return small[0]


def test_every_class_has_a_gm_sound_and_approximations_say_so():
    assert set(sf.GM_PROGRAMS) | set(sf.GM_DRUMS) == set(INSTRUMENTS)
    assert all(1 <= p <= 128 for p, _, _ in sf.GM_PROGRAMS.values())
    approx = {c for c, (_, _, note) in sf.GM_PROGRAMS.items() if note}
    assert {"erhu", "guzheng", "pipa", "suona", "ukulele"} <= approx
    assert not {"violin", "cello", "piano", "flute"} & approx


def _events(data: bytes):
    """(absolute tick, status, data bytes) of a format-0 file written by midi_bytes."""
    assert data[:4] == b"MThd" and struct.unpack(">IHHH", data[4:14]) == (6, 0, 1, sf.TICKS_PER_BEAT)
    assert data[14:18] == b"MTrk"
    track, i, tick, out = data[22:], 0, 0, []
    while i < len(track):
        delta = 0
        while True:
            b = track[i]
            i += 1
            delta = (delta << 7) | (b & 0x7F)
            if not b & 0x80:
                break
        tick += delta
        status = track[i]
        if status == 0xFF:
            length = track[i + 2]
            out.append((tick, status, track[i + 1:i + 3 + length]))
            i += 3 + length
        else:
            size = 2 if status & 0xF0 in (0xC0, 0xD0) else 3
            out.append((tick, status, track[i + 1:i + size]))
            i += size
    return out


def test_midi_file_holds_the_notes_at_their_times():
    notes = [{"t": 0.5, "dur": 0.25, "pitch": 60, "velocity": 1.0},
             {"t": 1.25, "dur": 0.5, "pitch": 64, "velocity": 0.55}]
    ev = _events(sf.midi_bytes("violin", notes, 3.0))
    per_s = sf.TICKS_PER_BEAT * 1e6 / sf.MIDI_TEMPO_US
    assert (0, 0xC0, bytes([40])) in ev                                     # GM 41 Violin, 0-based
    ons = [(t / per_s, d[0], d[1]) for t, s, d in ev if s == 0x90]
    offs = [(t / per_s, d[0]) for t, s, d in ev if s == 0x80]
    assert ons == [(0.5, 60, sf.VELOCITY_MAX), (1.25, 64, round(0.55 * sf.VELOCITY_MAX))]
    assert offs == [(0.75, 60), (1.75, 64)]
    assert ev[-1][1] == 0xFF and ev[-1][0] == 3 * per_s                   # end of track at 3 s
    drum = _events(sf.midi_bytes("drum", [{"t": 0, "dur": 0.1, "pitch": 36, "velocity": 1.0}], 1.0))
    assert any(s == 0x99 for _, s, _ in drum) and not any(s & 0xF0 == 0xC0 for _, s, _ in drum)


def test_missing_fluidsynth_fails_in_one_line_naming_the_packages(monkeypatch):
    monkeypatch.setattr(sf.shutil, "which", lambda name: None)
    with pytest.raises(AmuseError, match="apt-get install fluidsynth"):
        SynthOptions(audio="soundfont").check()
    with pytest.raises(AmuseError, match="give synthetic, soundfont or soundfont=FILE.sf2"):
        SynthOptions(audio="fluid").check()
    assert SynthOptions().soundfont() is None           # the default needs no system package


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
    assert "Audio: FluidSynth" in card and soundfont_file.name in card and f"--audio soundfont={soundfont_file}" in card
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
