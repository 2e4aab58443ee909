"""The soundtrack: every sounding source's notes at its loudness, in a room, a voice-over, room tone.

Each source is rendered alone and scaled so its dry RMS while it plays equals `loudness_db` (dBFS; the
"louder" questions read it), then mixed; if the mix would clip, everything is scaled by the same
factor (level differences kept). Two renderings:
- `soundfont` given (the new world's default, TimGM6mb): sampled GM instruments through TinySoundFont
  (soundfont.py) with the performance's expression (performance.py: velocities, articulation, vibrato
  as pitch bend; bowed and blown notes keep following the dynamics curve after their attack), each
  source released over RELEASE_S after its interval ends, then placed in the scene's room (room.py:
  reverb per setting, outdoor noise bed, depth). The voice-over stays dry, as a narrator's would.
- `soundfont` None: the synthetic timbres of timbre.py, dry, exactly as the old world renders them.
"""
from __future__ import annotations

import numpy as np

from amuse_cli.synth import room as rooms
from amuse_cli.synth.performance import dynamic_level
from amuse_cli.synth.timbre import TIMBRES, synth_note

ROOM_TONE_DB = -60.0     # faint noise so the track is never digitally silent
VOICE_DB = -20.0         # voice-over RMS level, dBFS
PEAK = 0.95
RELEASE_S = 0.25         # a sampled source fades out within this after its interval ends
SUSTAINED = ("bowed", "blown")   # families whose notes keep changing level after the attack
SYLLABLE_S = (0.12, 0.28)
VOWEL_FORMANTS = ((730, 1090), (270, 2290), (300, 870), (530, 1840), (570, 840))   # a i u e o, Hz


def _db(x: float) -> float:
    return 10.0 ** (x / 20.0)


def source_track(src: dict, n: int, sr: int, rng, soundfont=None) -> np.ndarray:
    if soundfont is not None:
        from amuse_cli.synth.soundfont import render_notes
        track = render_notes(src["instrument"], src["notes"], n, sr, soundfont,
                             vibrato=float(src.get("vibrato") or 0.0), vibrato_hz=float(src.get("vibrato_hz") or 5.5),
                             slide=float(src.get("slide") or 0.0))
        track *= _expression(src, n, sr) * _release_gate(src["intervals"], n, sr)
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


def _release_gate(intervals, n: int, sr: int) -> np.ndarray:
    """1 inside the intervals, a raised-cosine fade over RELEASE_S after each end, 0 elsewhere."""
    gate = np.zeros(n, dtype=np.float32)
    fade = 0.5 + 0.5 * np.cos(np.pi * np.arange(int(RELEASE_S * sr)) / (RELEASE_S * sr))
    for s, e in intervals:
        i, j = int(round(s * sr)), int(round(e * sr))
        gate[i:j] = 1.0
        k = min(n, j + fade.size)
        gate[j:k] = np.maximum(gate[j:k], fade[: k - j])
    return gate


def _expression(src: dict, n: int, sr: int) -> np.ndarray:
    """Gain that makes a bowed or blown note follow the dynamics curve after its attack (the velocity
    set its level at the attack); 1 for other families or without a dynamics mark."""
    gain = np.ones(n, dtype=np.float32)
    kind = src.get("dynamics")
    if not kind or TIMBRES[src["instrument"]][0] not in SUSTAINED or not src["notes"]:
        return gain
    onsets = np.array(sorted({note["t"] for note in src["notes"]}))
    for s, e in src["intervals"]:
        i, j = int(round(s * sr)), min(n, int(round(e * sr)))
        t = np.arange(i, j) / sr
        last = onsets[np.clip(np.searchsorted(onsets, t, side="right") - 1, 0, onsets.size - 1)]
        gain[i:j] = dynamic_level(kind, (t - s) / (e - s)) / dynamic_level(kind, (last - s) / (e - s))
    return gain


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
    path) renders sampled instruments in the scene's room instead of the dry synthetic timbres."""
    if soundfont is not None:
        return _render_in_room(meta, rng, soundfont)
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


def _render_in_room(meta: dict, rng: np.random.Generator, soundfont) -> np.ndarray:
    """Sampled sources through the room of `meta["setting"]` (a neutral small room when absent)."""
    sr = meta["sample_rate"]
    n = int(round(meta["duration"] * sr))
    room = rooms.room_for(meta.get("setting"))
    direct = np.zeros(n, dtype=np.float32)
    send = np.zeros(n, dtype=np.float32)
    for src in meta["sources"]:
        if src["sounding"]:
            track = source_track(src, n, sr, rng, soundfont)
            dry, wet = rooms.depth_gains(room, src.get("depth"))
            direct += dry * track
            send += wet * track
    mix = direct + rooms.reverberate(send, room, sr, rng) + rooms.ambience(room, n, sr, rng)
    mix += _db(ROOM_TONE_DB) * rng.standard_normal(n).astype(np.float32)
    if meta["voiceover"]["present"]:
        mix += voice_track(meta["voiceover"]["intervals"], n, sr, rng)
    peak = float(np.abs(mix).max())
    return (mix * (PEAK / peak) if peak > PEAK else mix).astype(np.float32)
