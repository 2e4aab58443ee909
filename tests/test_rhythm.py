"""The rhythm labeller's clip-level path (issue 23) and the bench's harder pieces (bench/rhythm_pieces.py).

The path tests build tempograms from peaks on the log-BPM axis, so each one says exactly which evidence
the path gets; the piece tests render real soundfont audio and run the bench as a user runs it.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from amuse_cli.features import rhythm, truth
from amuse_cli.synth import soundfont

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))              # bench/ is scripts, not a package of amuse_cli
from bench import rhythm_pieces as pieces  # noqa: E402

GRID = rhythm.TEMPO_GRID


def curve(*peaks: tuple[float, float]) -> np.ndarray:
    """A tempogram with a peak of height h at each (bpm, h), ~1.5 bins wide."""
    x, out = np.arange(len(GRID)), np.zeros(len(GRID))
    for bpm, h in peaks:
        out += h * np.exp(-0.5 * ((x - np.argmin(np.abs(GRID - bpm))) / 1.5) ** 2)
    return out


def path_bpm(curves) -> np.ndarray:
    return GRID[rhythm.tempo_path(curves)]


def test_a_segment_with_little_periodicity_does_not_move_the_path():
    """A sparse segment (a held note, a rest) whose faint tempogram favours the double is carried at the
    clip's tempo: it would otherwise read as two changes."""
    steady = curve((100, 1.0), (200, 0.4))
    faint = 0.05 * curve((200, 1.0), (100, 0.4))
    bpm = path_bpm([steady] * 3 + [faint] + [steady] * 3)
    assert np.allclose(bpm, bpm[0]) and abs(bpm[0] - 100) < 3


def test_one_octave_flip_in_an_irregular_clip_is_not_followed():
    """Every segment of an irregular melody has its own extra periodicities; one segment that favours
    the double (a run of eighths) is an octave error, not two tempo changes."""
    rng = np.random.default_rng(0)
    curves = []
    for k in range(8):
        extra = [(float(rng.uniform(60, 300)), float(rng.uniform(0.3, 0.7))) for _ in range(2)]
        curves.append(curve((200, 1.0), (100, 0.5), *extra) if k == 4 else curve((100, 1.0), (200, 0.5), *extra))
    confidence, irregular = rhythm.clip_weights(curves, [rhythm.shift_scores(a, b) for a, b in zip(curves, curves[1:])])
    assert irregular > 0.05 and confidence.min() > 0.5
    bpm = path_bpm(curves)
    assert np.all(np.abs(np.log2(bpm / 100)) < 0.05)


@pytest.mark.parametrize("after", [180.0, 150.0])
def test_a_clean_change_is_still_followed(after):
    """A clean piece that doubles (or speeds up x1.67) for good keeps its change: the octave surcharge
    is paid once against four segments of clear evidence."""
    before = curve((90, 1.0), (180, 0.5), (45, 0.3))
    later = curve((after, 1.0), (2 * after, 0.5), (after / 2, 0.3))
    bpm = path_bpm([before] * 4 + [later] * 4)
    assert np.all(np.abs(bpm[:4] - 90) < 3) and np.all(np.abs(bpm[4:] - after) < 0.03 * after)
    _, irregular = rhythm.clip_weights([before] * 4 + [later] * 4,
                                       [rhythm.shift_scores(before, before), rhythm.shift_scores(before, later)])
    assert irregular < 0.01


def test_clip_weights_trust_periodic_segments_and_measure_irregularity():
    a = curve((100, 1.0), (200, 0.5))
    curves = [a, a, np.zeros(len(GRID)), 0.5 * a]
    confidence, irregular = rhythm.clip_weights(curves, [rhythm.shift_scores(x, y) for x, y in zip(curves, curves[1:])])
    np.testing.assert_allclose(confidence, [1.0, 1.0, 0.0, 0.5])
    assert irregular == pytest.approx(1.0)       # median of (1, 0, 0): a silent segment matches nothing
    same = [a] * 4
    assert rhythm.clip_weights(same, [rhythm.shift_scores(a, a)] * 3)[1] == pytest.approx(0.0, abs=1e-6)


# --- the harder pieces ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hard():
    return pieces.pieces(11, 24, 0.25)         # a development seed; clips 20.. have drums


def test_hard_pieces_keep_their_promises(hard):
    bounds, mask = rhythm.segment_bounds(pieces.CLIP_S, pieces.SEGMENT_S, 10)
    assert {m["kind"] for m in hard} == set(pieces.KINDS)
    assert pieces.pieces(11, 24, 0.25) == hard                                # deterministic from the seed
    for m in hard:
        nominal = np.array(m["nominal_bpm"])
        true = truth.segment_bpm(m, bounds, mask)
        assert np.all(np.abs(true / nominal - 1) <= 0.021)                    # +-2 % rubato around the written tempo
        ratios = nominal[1:] / nominal[:-1]
        moved = ratios != 1
        assert np.all((np.maximum(ratios, 1 / ratios)[moved] >= pieces.RATIO[0] - 1e-9))
        assert (m["kind"] == "boundary") == bool(moved.any()) == bool(m["changes"])
        rate = pieces.rate_change_segments(m)
        assert (m["kind"] == "rate") == bool(rate.any()) and not np.any(rate[1:] & moved)
        if m["kind"] != "rate":
            assert len(set(m["densities"])) == 1                              # no density change with a tempo change
        for src in m["sources"]:
            ts = [n["t"] for n in src["notes"]]
            assert ts == sorted(ts) and all(0 <= t < pieces.CLIP_S for t in ts)
            last = {}
            for n in src["notes"]:                                            # a held key ends before it is struck again
                assert last.get(n["pitch"], -1.0) <= n["t"] + 1e-6
                last[n["pitch"]] = n["t"] + n["dur"]
    assert any(m["swing"] for m in hard) and any(m["room"] for m in hard) and any(m["drums"] for m in hard)


def test_a_hard_piece_renders_through_the_soundfont(hard):
    m = next(x for x in hard if x["room"] and x["drums"])
    audio = pieces.render(m, soundfont.resolve(None), np.random.default_rng(m["seed"]))
    assert audio.dtype == np.float32 and audio.shape == (int(pieces.CLIP_S * pieces.SR),)
    assert 0.01 < np.abs(audio).max() <= pieces.PEAK + 1e-6
    rms = np.sqrt(np.mean(audio.reshape(30, -1) ** 2, axis=1))
    assert rms.min() > 1e-3                                                    # it plays all through


def test_bench_runs_both_generators_and_reports_note_rate_changes(tmp_path):
    """bench/rhythm.py as a user runs it, on a few clips: the figures, the goals and the note-rate changes."""
    for generator in ("hard", "today"):
        out = tmp_path / f"{generator}.json"
        res = subprocess.run([sys.executable, str(REPO / "bench" / "rhythm.py"), "--generator", generator,
                              "--seed", "5", "--clips", "3", "--workers", "1", "--only", "amuse", "--out", str(out)],
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
        report = json.loads(out.read_text())
        assert report["generator"] == generator and report["clips"] == 3 and "TimGM6mb" in report["soundfont"]["soundfont"]
        figures = report["results"]["amuse"]["all"]
        assert {"f1", "false_change_rate", "rate_change_false_rate", "rate_change_segments"} <= set(figures)
        goals = set(report["goals"]["amuse"])
        assert ("rate_change_false_rate<=0.10" in goals) == (generator == "hard") and "f1_no_drums>=0.80" in goals
        assert "| amuse |" in res.stdout


# --- the decisive experiment: bench/rhythm_evidence.py -----------------------------------------------

from bench import rhythm_evidence as evidence  # noqa: E402


def _legato_tones(sr: int = 16000) -> tuple[np.ndarray, float]:
    """A sung-like line: A4 with a 5.5 Hz, +-40 cent vibrato for 2 s, then B4 (same vibrato, same loudness),
    crossfaded over 80 ms: a change of pitch without an attack. Returns (audio, time of the change)."""
    t = np.arange(int(4.0 * sr)) / sr
    vib = 2 ** (0.4 / 12 * np.sin(2 * np.pi * 5.5 * t))
    fade = np.clip((t - 2.0) / 0.08, 0.0, 1.0)
    phase_a = 2 * np.pi * np.cumsum(440.0 * vib) / sr
    phase_b = 2 * np.pi * np.cumsum(493.9 * vib) / sr
    tone = lambda ph: sum(np.sin(k * ph) / k for k in (1, 2, 3))      # noqa: E731  (three partials)
    return (0.3 * ((1 - fade) * tone(phase_a) + fade * tone(phase_b))).astype(np.float32), 2.0


def test_pitch_novelty_fires_on_a_change_of_pitch_not_on_vibrato():
    audio, change = _legato_tones()
    power = evidence.power_spectrogram(audio)
    novelty = evidence.pitch_novelty(power, 16000)
    frames = np.arange(len(novelty)) / evidence.FPS
    near = np.abs(frames - change - 0.04) < 0.12
    steady = (frames > 0.5) & (np.abs(frames - change) > 0.4) & (frames < 3.8)
    assert novelty[near].max() > 5 * novelty[steady].max()
    # the energy flux the labeller reads cannot tell this change from the vibrato around it
    flux = rhythm.onset_envelope(audio, 16000, 1)[:len(novelty)]
    assert flux[near].max() < 5 * flux[steady].max()


def test_semitone_bands_are_normalised_and_distinct():
    bands = evidence.semitone_bands(16000)
    assert bands.shape[1] == evidence.PITCH_FFT // 2 + 1
    np.testing.assert_allclose(bands.sum(axis=1), 1.0)
    assert len(np.unique(bands, axis=0)) == len(bands) and np.all(np.diff(np.argmax(bands, axis=1)) >= 0)


def test_note_onsets_oracle_marks_every_note():
    meta = {"sources": [{"notes": [{"t": 1.0, "velocity": 0.5}, {"t": 2.0, "velocity": 1.0}]},
                        {"notes": [{"t": 2.0, "velocity": 0.25}]}]}
    env = evidence.note_onsets(meta, int(3 * evidence.FPS))
    peaks = np.flatnonzero((env[1:-1] > env[:-2]) & (env[1:-1] > env[2:])) + 1
    np.testing.assert_allclose(peaks / evidence.FPS, [1.0, 2.0], atol=1.0 / evidence.FPS)
    assert env[peaks[1]] / env[peaks[0]] == pytest.approx(2.5, rel=1e-6)


def test_evidence_bench_runs_and_its_flux_row_is_the_labeller(tmp_path):
    """The bench as a user runs it on two clips; its `flux` evidence gives the labeller's own labels."""
    out = tmp_path / "evidence.json"
    res = subprocess.run([sys.executable, str(REPO / "bench" / "rhythm_evidence.py"), "--seeds", "5", "--clips", "2",
                          "--workers", "1", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["clips"] == 2 and set(report["results"]) == set(evidence.EVIDENCE)
    assert {"top1", "top1_octave", "top3"} <= set(report["results"]["onsets"]["candidates"]["all"])
    assert "| onsets |" in res.stdout
    meta = pieces.pieces(5, 2, report["theta"])[0]
    rec = evidence.run_clip((meta, str(soundfont.resolve(None)), report["theta"]))
    audio = pieces.render(meta, soundfont.resolve(None), np.random.default_rng(meta["seed"]))
    bounds, mask = rhythm.segment_bounds(pieces.CLIP_S, pieces.SEGMENT_S, 10)
    np.testing.assert_allclose(rec["est"]["flux"]["bpm"], np.round(rhythm.estimate_bpm(audio, pieces.SR, bounds, mask), 2))
