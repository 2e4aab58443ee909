"""Each instrument class's sound: harmonic spectrum, envelope, vibrato, noise, and pitch register.

The classic world's sound and `--audio synthetic` (dry, no room); the stage world plays sampled GM
instruments instead (soundfont.py, performance.py, room.py). REGISTERS serve both worlds.

Families: plucked and struck notes decay exponentially; bowed and blown notes swell and sustain
(bowed with vibrato); drum and congas are unpitched membranes. Spectra differ per class so a
log-mel frame tells them apart (e.g. clarinet = odd harmonics, flute = near-sine + breath).
"""
from __future__ import annotations

import numpy as np

UNPITCHED = ("drum", "congas")
REGISTER_MIDI = {"low": 43, "mid": 57, "high": 72}   # G2 98 Hz, A3 220 Hz, C5 523 Hz

REGISTERS = {
    "accordion": ("mid", "high"), "acoustic_guitar": ("low", "mid"), "bagpipe": ("mid", "high"),
    "banjo": ("mid", "high"), "bassoon": ("low",), "cello": ("low", "mid"), "clarinet": ("mid", "high"),
    "electric_bass": ("low",), "erhu": ("mid", "high"), "flute": ("high",), "guzheng": ("mid", "high"),
    "piano": ("low", "mid", "high"), "pipa": ("mid", "high"), "saxophone": ("low", "mid"),
    "suona": ("high",), "trumpet": ("mid", "high"), "tuba": ("low",), "ukulele": ("mid", "high"),
    "violin": ("mid", "high"), "xylophone": ("high",),
}


def _h(*amps):
    return np.asarray(amps, dtype=np.float32)


# family, harmonic amplitudes (1st, 2nd, ...), attack s, decay time constant s (None: sustained),
# vibrato depth (fraction of f0), noise (fraction), inharmonicity (stretch per harmonic^2);
# TREMOLO adds amplitude modulation (Hz, depth) where a class has it (accordion bellows, pipa).
TIMBRES = {
    "accordion":       ("blown", _h(1, .8, .7, .6, .5, .45, .4, .3, .25, .2), .03, None, .0, .0, 0),
    "acoustic_guitar": ("plucked", _h(1, .6, .35, .25, .15, .1, .05), .003, .35, 0, .01, 1e-4),
    "bagpipe":         ("blown", _h(.6, 1, .9, .8, .7, .6, .5, .5, .4), .02, None, .003, .02, 0),
    "banjo":           ("plucked", _h(.4, .7, .9, 1, .8, .7, .6, .5, .4, .3), .001, .07, 0, .05, 5e-4),
    "bassoon":         ("blown", _h(.3, .6, 1, 1, .7, .4, .2, .1), .06, None, .002, .06, 0),
    "cello":           ("bowed", _h(1, .8, .6, .5, .35, .25, .15, .1), .12, None, .008, .02, 0),
    "clarinet":        ("blown", _h(1, .02, .6, .02, .4, .02, .25, .02, .1), .05, None, .0, .02, 0),
    "congas":          ("membrane", None, .001, .12, 0, .15, 0),
    "drum":            ("membrane", None, .001, .2, 0, .5, 0),
    "electric_bass":   ("plucked", _h(1, .45, .2, .08), .004, .5, 0, .0, 0),
    "erhu":            ("bowed", _h(.6, 1, .3, .9, .2, .6, .1, .4), .08, None, .03, .04, 0),
    "flute":           ("blown", _h(1, .12, .05), .08, None, .006, .12, 0),
    "guzheng":         ("plucked", _h(1, .5, .4, .2, .15, .1), .002, .6, .004, .01, 1e-4),
    "piano":           ("struck", _h(1, .5, .3, .2, .12, .08, .05), .002, .7, 0, .0, 3e-4),
    "pipa":            ("plucked", _h(.8, 1, .6, .4, .3, .2), .002, .18, 0, .02, 1e-4),
    "saxophone":       ("blown", _h(.5, .8, 1, .9, .8, .6, .5, .4, .3, .2), .04, None, .008, .08, 0),
    "suona":           ("blown", _h(.4, .7, 1, .9, .8, .7, .6, .5, .4, .3), .02, None, .004, .03, 0),
    "trumpet":         ("blown", _h(.7, 1, .9, .7, .55, .4, .3, .2), .03, None, .003, .01, 0),
    "tuba":            ("blown", _h(1, .4, .1), .08, None, .0, .01, 0),
    "ukulele":         ("plucked", _h(1, .4, .2, .1), .002, .2, 0, .01, 0),
    "violin":          ("bowed", _h(1, .7, .6, .5, .45, .35, .3, .2, .15), .1, None, .012, .02, 0),
    "xylophone":       ("struck", _h(1, 0, 0, .35), .001, .15, 0, .0, 0),
}
TREMOLO = {"accordion": (6.0, 0.45), "pipa": (12.0, 0.8)}
assert set(TIMBRES) == set(REGISTERS) | set(UNPITCHED)

RELEASE_S = 0.05      # sustained notes fade out over 50 ms
MAX_TAIL_S = 1.2      # decaying notes are cut after this


def register_center(register: str) -> int:
    return REGISTER_MIDI[register]


def midi_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def synth_note(instrument: str, pitch: int, dur: float, velocity: float, sr: int,
               rng: np.random.Generator) -> np.ndarray:
    """One note as float32 samples (peak about `velocity`)."""
    family, harm, attack, decay, vib, noise, inharm = TIMBRES[instrument]
    length = dur + RELEASE_S if decay is None else min(max(dur, 4 * decay), MAX_TAIL_S)
    t = np.arange(int(length * sr), dtype=np.float32) / sr
    if family == "membrane":
        return velocity * _membrane(instrument, pitch, t, decay, noise, rng, sr)
    f0 = midi_hz(pitch)
    inst = 1.0 + vib * np.sin(2 * np.pi * 5.5 * t)
    phase = 2 * np.pi * f0 * np.cumsum(inst) / sr
    wave = np.zeros_like(t)
    for k, a in enumerate(harm, start=1):
        if a and k * f0 < sr / 2 - 200:
            wave += a * np.sin(k * phase * (1 + inharm * k * k))
    wave /= max(float(np.abs(harm).sum()), 1e-6) ** 0.5 * 2
    if noise:
        wave += noise * rng.standard_normal(t.size).astype(np.float32)
    env = np.minimum(t / attack, 1.0)
    rate, depth = TREMOLO.get(instrument, (0.0, 0.0))
    if depth:
        env = env * (1 - depth * (0.5 + 0.5 * np.cos(2 * np.pi * rate * t)))
    if decay is None:
        env *= np.clip((length - t) / RELEASE_S, 0.0, 1.0)
    else:
        env *= np.exp(-t / decay)
    return (velocity * env * wave).astype(np.float32)


def _membrane(instrument, pitch, t, decay, noise, rng, sr):
    """Drum: kick (36, low sweep) or snare (38, noise burst); congas: pitched skin with a drop."""
    if instrument == "drum" and pitch == 38:
        body = 0.4 * np.sin(2 * np.pi * 190 * t)
        return (np.exp(-t / 0.08) * (body + 0.9 * rng.standard_normal(t.size))).astype(np.float32)
    f_start, f_end = (130.0, 50.0) if instrument == "drum" else (midi_hz(pitch) * 0.7, midi_hz(pitch) * 0.55)
    f = f_end + (f_start - f_end) * np.exp(-t / 0.03)
    phase = 2 * np.pi * np.cumsum(f) / sr
    tone = np.sin(phase) + noise * rng.standard_normal(t.size)
    return (np.exp(-t / decay) * tone).astype(np.float32)
