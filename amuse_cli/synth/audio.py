"""The soundtrack: every sounding source's notes at its loudness, a speech-like voice-over, room tone.

Each source is rendered alone (synthetic timbres from timbre.py, or a GM soundfont through tinysoundfont
when `soundfont` is given: soundfont.py), scaled so its RMS while it plays equals `loudness_db` (dBFS), then
mixed; if the mix would clip, everything is scaled by the same factor (level differences kept).
"""
from __future__ import annotations

import numpy as np

from amuse_cli.synth.timbre import synth_note

ROOM_TONE_DB = -60.0     # faint noise so the track is never digitally silent
VOICE_DB = -20.0         # voice-over RMS level, dBFS
PEAK = 0.95
SYLLABLE_S = (0.12, 0.28)
VOWEL_FORMANTS = ((730, 1090), (270, 2290), (300, 870), (530, 1840), (570, 840))   # a i u e o, Hz


def _db(x: float) -> float:
    return 10.0 ** (x / 20.0)


def source_track(src: dict, n: int, sr: int, rng, soundfont=None) -> np.ndarray:
    if soundfont is not None:
        from amuse_cli.synth.soundfont import render_notes
        track = render_notes(src["instrument"], src["notes"], n, sr, soundfont)
    else:
        track = np.zeros(n, dtype=np.float32)
        for note in src["notes"]:
            wave = synth_note(src["instrument"], note["pitch"], note["dur"], note["velocity"], sr, rng)
            i = int(round(note["t"] * sr))
            j = min(n, i + wave.size)
            track[i:j] += wave[: j - i]
    active = np.zeros(n, dtype=bool)
    for s, e in src["intervals"]:
        active[int(s * sr):int(e * sr)] = True
    rms = float(np.sqrt(np.mean(track[active] ** 2))) if active.any() else 0.0
    return track * (_db(src["loudness_db"]) / rms) if rms > 0 else track


def voice_track(intervals, n: int, sr: int, rng) -> np.ndarray:
    """Speech-like: a glottal harmonic series with a wandering pitch, shaped by vowel formants,
    in syllables with short gaps."""
    out = np.zeros(n, dtype=np.float32)
    f0_base = rng.uniform(110, 220)
    for s, e in intervals:
        t0 = s
        while t0 < e - 0.1:
            length = min(rng.uniform(*SYLLABLE_S), e - t0)
            t = np.arange(int(length * sr), dtype=np.float32) / sr
            f0 = f0_base * (1 + 0.12 * np.sin(2 * np.pi * rng.uniform(1, 3) * t + rng.uniform(0, 6)))
            phase = 2 * np.pi * np.cumsum(f0) / sr
            f1, f2 = VOWEL_FORMANTS[int(rng.integers(len(VOWEL_FORMANTS)))]
            wave = np.zeros_like(t)
            for k in range(1, int(3500 / f0_base)):
                fk = k * f0_base
                gain = np.exp(-((fk - f1) / 120.0) ** 2) + 0.6 * np.exp(-((fk - f2) / 180.0) ** 2) + 0.02
                wave += gain * np.sin(k * phase)
            env = np.sin(np.pi * t / max(length, 1e-3)) ** 0.5
            i = int(t0 * sr)
            j = min(n, i + t.size)
            out[i:j] += (env * wave)[: j - i]
            t0 += length + rng.uniform(0.03, 0.12)
    active = out != 0
    rms = float(np.sqrt(np.mean(out[active] ** 2))) if active.any() else 0.0
    return out * (_db(VOICE_DB) / rms) if rms > 0 else out


def render_audio(meta: dict, rng: np.random.Generator, soundfont=None) -> np.ndarray:
    """Mono float32 mix of the whole clip, exactly duration * sample_rate samples; `soundfont` (a .sf2
    path) renders the instruments from the soundfont instead of the synthetic timbres."""
    sr = meta["sample_rate"]
    n = int(round(meta["duration"] * sr))
    mix = _db(ROOM_TONE_DB) * rng.standard_normal(n).astype(np.float32)
    for src in meta["sources"]:
        if src["sounding"]:
            mix += source_track(src, n, sr, rng, soundfont)
    if meta["voiceover"]["present"]:
        mix += voice_track(meta["voiceover"]["intervals"], n, sr, rng)
    peak = float(np.abs(mix).max())
    return (mix * (PEAK / peak) if peak > PEAK else mix).astype(np.float32)
