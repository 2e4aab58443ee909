"""The room a performance is heard in: reverberation per setting, a quiet outdoor noise bed, depth.

Indoor settings reverberate with a synthetic impulse response drawn per video: a handful of early
reflections (first ones after `early_ms`, sparse, random sign) followed by exponentially decaying noise
whose high band (above 1.5 kHz) dies faster than the low band, as air and soft surfaces absorb highs
(RT60 per setting: a studio is dry, a church rings for 2.5 s). Outdoor settings are nearly dry (ground
and a far wall give faint reflections) and carry an ambient bed of band-limited noise: wind (low,
gusting), traffic (a low rumble), surf (slow broadband swells), birds (high, in short bursts), at
about -44 dBFS, well under the quietest instrument (-28 dBFS).

A source's `depth` (0 front .. 1 back) lowers its direct sound by up to DEPTH_DRY_DB and raises its
reverb send by up to DEPTH_WET_DB: further performers sound a little quieter and wetter. An unknown
or missing setting is a neutral small room.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

DEPTH_DRY_DB, DEPTH_WET_DB = -2.5, 4.0
CROSSOVER_HZ = 1500.0
HIGH_DECAY = 0.55          # the high band's RT60 relative to the low band's
TAIL_S = 0.8               # impulse response kept for 0.8 RT60 (down 48 dB), then faded
AMBIENCE_DB = -44.0        # RMS of an outdoor noise bed


@dataclass(frozen=True)
class Room:
    rt60: tuple[float, float]          # reverberation time range, s (drawn per video)
    wet_db: float                      # reverb level against the direct sound, for a front source
    early_ms: tuple[float, float]      # window of the early reflections
    reflections: int
    ambience: tuple[str, ...] = ()     # outdoor noise bed layers


ROOMS = {
    "concert_hall": Room((1.6, 2.1), -9.0, (12, 70), 10),
    "church": Room((2.2, 2.8), -7.0, (18, 110), 10),
    "classroom": Room((0.6, 0.8), -12.0, (4, 30), 8),
    "living_room": Room((0.35, 0.5), -14.0, (3, 22), 8),
    "studio": Room((0.2, 0.3), -18.0, (2, 14), 6),
    "park": Room((0.12, 0.2), -24.0, (4, 60), 3, ("wind", "birds")),
    "street": Room((0.2, 0.3), -20.0, (6, 50), 4, ("traffic", "wind")),
    "beach": Room((0.1, 0.15), -26.0, (4, 40), 2, ("surf", "wind")),
    "garden": Room((0.12, 0.2), -24.0, (4, 50), 3, ("birds", "wind")),
}
NEUTRAL = Room((0.3, 0.4), -15.0, (3, 20), 6)


def room_for(setting: str | None) -> Room:
    return ROOMS.get(setting or "", NEUTRAL)


def _db(x: float) -> float:
    return 10.0 ** (x / 20.0)


def _band(x: np.ndarray, sr: int, lo: float | None, hi: float | None, order: int = 2) -> np.ndarray:
    """Butterworth low-, high- or band-pass."""
    nyq = sr / 2 - 1
    if lo and hi:
        sos = butter(order, [lo, min(hi, nyq)], "bandpass", fs=sr, output="sos")
    elif hi:
        sos = butter(order, min(hi, nyq), "lowpass", fs=sr, output="sos")
    else:
        sos = butter(order, lo, "highpass", fs=sr, output="sos")
    return sosfilt(sos, x)


def impulse_response(room: Room, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Reverberant part only (no direct path), unit energy: early reflections + decaying filtered noise."""
    rt60 = float(rng.uniform(*room.rt60))
    n = int(TAIL_S * rt60 * sr) + 1
    t = np.arange(n) / sr
    onset = room.early_ms[1] / 1000.0
    noise = rng.standard_normal(n)
    low, high = _band(noise, sr, None, CROSSOVER_HZ), _band(noise, sr, CROSSOVER_HZ, None)
    decay = np.exp(-6.91 * t / rt60)                               # -60 dB at rt60
    tail = low * decay + high * np.exp(-6.91 * t / (HIGH_DECAY * rt60))
    tail *= np.clip((t - onset / 2) / (onset / 2), 0.0, 1.0)       # diffuse field builds up
    ir = 0.5 * tail
    delays = np.sort(rng.uniform(*room.early_ms, size=room.reflections)) / 1000.0
    for d in delays:
        k = int(d * sr)
        ir[k] += rng.choice((-1.0, 1.0)) * rng.uniform(0.5, 1.0) * np.exp(-6.91 * d / rt60) * 3.0
    fade = max(1, n // 10)
    ir[-fade:] *= np.linspace(1.0, 0.0, fade)
    return (ir / np.sqrt(np.sum(ir ** 2))).astype(np.float32)


def _gusts(n: int, sr: int, rng, period_s: float) -> np.ndarray:
    """A slowly wandering positive envelope (mean 1) with changes every ~period_s."""
    knots = rng.uniform(0.3, 1.7, size=int(n / sr / period_s) + 3)
    return np.interp(np.arange(n) / (sr * period_s), np.arange(knots.size), knots)


def _layer(kind: str, n: int, sr: int, rng) -> np.ndarray:
    noise = rng.standard_normal(n)
    if kind == "wind":
        return _band(noise, sr, 40.0, 500.0) * _gusts(n, sr, rng, 1.5)
    if kind == "traffic":
        return _band(noise, sr, 50.0, 350.0, 3) * _gusts(n, sr, rng, 3.0) + 0.2 * _band(noise, sr, 800.0, 3000.0)
    if kind == "surf":
        phase = rng.uniform(0, 2 * np.pi)
        swell = 0.6 + 0.5 * np.sin(2 * np.pi * np.arange(n) / sr / rng.uniform(6.0, 9.0) + phase) ** 2
        return _band(noise, sr, 100.0, 2500.0) * swell
    if kind == "birds":      # short high bursts, a few per second
        env = np.zeros(n)
        for start in rng.uniform(0, n / sr, size=int(rng.uniform(0.8, 2.0) * n / sr)):
            i, length = int(start * sr), int(rng.uniform(0.04, 0.15) * sr)
            env[i:i + length] += np.sin(np.pi * np.arange(min(length, n - i)) / length)
        return _band(noise, sr, 3000.0, 6500.0, 4) * env * 3.0
    raise ValueError(kind)


def ambience(room: Room, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """The outdoor noise bed at AMBIENCE_DB RMS (zeros indoors)."""
    if not room.ambience:
        return np.zeros(n, np.float32)
    bed = sum(w * _layer(k, n, sr, rng) for k, w in zip(room.ambience, (1.0, 0.5)))
    rms = float(np.sqrt(np.mean(bed ** 2)))
    return (bed * (_db(AMBIENCE_DB) / rms) if rms > 0 else bed).astype(np.float32)


def depth_gains(room: Room, depth: float | None) -> tuple[float, float]:
    """(direct gain, reverb send gain) of a source at `depth`."""
    d = float(np.clip(depth or 0.0, 0.0, 1.0))
    return _db(DEPTH_DRY_DB * d), _db(room.wet_db + DEPTH_WET_DB * d)


def reverberate(send: np.ndarray, room: Room, sr: int, rng: np.random.Generator) -> np.ndarray:
    """The reverb bus: the sends convolved with the room's impulse response, cut to the clip."""
    if not send.any():
        return np.zeros_like(send)
    return fftconvolve(send, impulse_response(room, sr, rng))[: send.size].astype(np.float32)
