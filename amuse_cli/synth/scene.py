"""Sample one performance's ground truth (the meta file of docs/INTERFACES.md §1) from a seeded RNG.

Everything the renderers and the question writer need is decided here, once, so media and
answers can never disagree. A video's RNG depends only on (seed, index): the result is the same
whatever the number of worker processes.
"""
from __future__ import annotations

import math
from enum import IntEnum

import numpy as np

from amuse_cli.data.taxonomy import INSTRUMENTS
from amuse_cli.synth import CLASSIC_GENERATOR
from amuse_cli.synth.timbre import REGISTERS, UNPITCHED, register_center

SEGMENT_S = 3.0               # tempo changes only on this grid (the recipes' label segments)
BPM_RANGE = (60.0, 180.0)
TEMPO_CHANGE_FACTOR = (1.6, 2.0)   # new/old BPM ratio: >= 35% of the mean BPM, visible to a beat tracker
MIN_CHANGE_OF_MEAN = 0.35
LOUDNESS_DB = (-28.0, -10.0)  # RMS level of a source while it plays, dB full scale
NOTES_PER_BEAT = (0.5, 1.0, 2.0)   # note density choices: rhythmic contrasts are >= 2x
N_VISIBLE_P = {1: 0.22, 2: 0.33, 3: 0.33, 4: 0.12}
P_DUPLICATE = 0.3             # a second performer of a class already on stage
P_SILENT = 0.18               # a visible instrument that never sounds
P_MIME = 0.2                  # a performer seen playing with no sound (only the audio can tell)
P_OFFSCREEN = 0.35            # a sound source that is not on screen
P_VOICEOVER = 0.45
PENTATONIC = (-5, -3, 0, 2, 4, 7)   # semitones around the register centre
SLOTS = {1: ((0.2, 0.5, 0.8),), 2: ((0.2, 0.5), (0.2, 0.8), (0.5, 0.8)), 3: ((0.2, 0.5, 0.8),),
         4: ((0.125, 0.375, 0.625, 0.875),)}


def position_of(x: float) -> str:
    """Screen third of a horizontal centre in [0, 1]."""
    return "left" if x < 1 / 3 else ("middle" if x < 2 / 3 else "right")


class Stream(IntEnum):
    """Independent random streams per (seed, video, purpose): adding a purpose never shifts the others."""
    SCENE, PIXELS, AUDIO, QUESTIONS, MIMES = 0, 1, 2, 3, 4
    WORDING = 5         # which wording asks each question (synth/wording.py)
    SPLITS = 9          # drawn once per set (video index 0)


def video_rng(seed: int, index: int, stream: Stream = Stream.SCENE) -> np.random.Generator:
    """The random stream of one (seed, video, purpose)."""
    return np.random.default_rng([seed, index, stream])


def _tempo(rng, duration: float) -> list[dict]:
    bounds = [SEGMENT_S * k for k in range(1, math.ceil(duration / SEGMENT_S)) if SEGMENT_S * k < duration]
    n_changes = 0
    if bounds and rng.random() < 0.6:
        n_changes = 2 if len(bounds) >= 3 and rng.random() < 0.3 else 1
    while True:
        cuts = sorted(rng.choice(bounds, size=n_changes, replace=False).tolist()) if n_changes else []
        edges = [0.0] + cuts + [duration]
        bpms = [float(round(rng.uniform(70, 170)))]
        for _ in cuts:
            lo, hi = TEMPO_CHANGE_FACTOR
            ups = bpms[-1] * lo <= BPM_RANGE[1]
            downs = bpms[-1] / lo >= BPM_RANGE[0]
            up = ups and (not downs or rng.random() < 0.5)
            f = rng.uniform(lo, hi)
            b = bpms[-1] * f if up else bpms[-1] / f
            bpms.append(float(round(min(max(b, BPM_RANGE[0]), BPM_RANGE[1]))))
        pieces = [{"start": edges[i], "end": edges[i + 1], "bpm": bpms[i]} for i in range(len(bpms))]
        mean = sum((p["end"] - p["start"]) * p["bpm"] for p in pieces) / duration
        if all(abs(bpms[i] - bpms[i - 1]) >= MIN_CHANGE_OF_MEAN * mean for i in range(1, len(bpms))):
            return pieces


def beat_times(tempo: list[dict]) -> list[tuple[float, float]]:
    """(time, beat length s) of every beat; the grid restarts at each tempo change."""
    out = []
    for p in tempo:
        step = 60.0 / p["bpm"]
        t = p["start"]
        while t < p["end"] - 1e-9:
            out.append((t, step))
            t += step
    return out


def _snap(t: float, beats) -> float:
    """First beat at or after t."""
    for b, _ in beats:
        if b >= t - 1e-9:
            return b
    return beats[-1][0]


def _intervals(rng, duration: float, beats) -> list[list[float]]:
    """One playing interval: the whole clip, a late entry, or an early stop (>= 1 s long)."""
    mode = rng.choice(["full", "late", "stop"], p=[0.4, 0.35, 0.25])
    start, end = 0.0, duration
    if mode == "late":
        start = _snap(rng.uniform(0.15, 0.7) * duration, beats)
    elif mode == "stop":
        start = _snap(rng.uniform(0.0, 0.3 * duration), beats)
        lo, hi = start + max(1.0, 0.4 * duration), duration - 0.4
        end = rng.uniform(lo, hi) if hi > lo else duration + 1.0
    if end > duration or end - start < min(1.0, duration):      # too short a clip for this mode
        start, end = 0.0, duration
    return [[start, end]]


def _notes(rng, instrument: str, register, intervals, beats) -> list[dict]:
    per_beat = float(rng.choice(NOTES_PER_BEAT))
    notes = _notes_at(rng, instrument, register, intervals, beats, per_beat)
    return notes or _notes_at(rng, instrument, register, intervals, beats, 1.0)   # too short for half notes


def _notes_at(rng, instrument, register, intervals, beats, per_beat) -> list[dict]:
    notes, degree = [], int(rng.integers(len(PENTATONIC)))
    for bi, (b, step) in enumerate(beats):
        sub = step / per_beat
        for k in range(max(1, int(round(per_beat)))):
            if per_beat < 1 and bi % 2:
                break       # half notes: every other beat
            t = b + k * sub
            if not any(s <= t < e - 0.05 for s, e in intervals):
                continue
            dur = min(sub * (2 if per_beat < 1 else 1), 1.0)
            if instrument in UNPITCHED:
                pitch = (36 if k == 0 and bi % 2 == 0 else 38) if instrument == "drum" else 62 + len(notes) % 3
            else:
                degree = int(np.clip(degree + rng.integers(-1, 2), 0, len(PENTATONIC) - 1))
                pitch = register_center(register) + PENTATONIC[degree]
            vel = 1.0 if k == 0 else 0.55         # accented beats: the beat tracker's cue
            notes.append({"t": round(t, 4), "dur": round(dur, 4), "pitch": int(pitch), "velocity": vel})
    return notes


def _source(rng, sid, instrument, x, sounding, duration, beats) -> dict:
    register = None if instrument in UNPITCHED else str(rng.choice(REGISTERS[instrument]))
    intervals = _intervals(rng, duration, beats) if sounding else []
    intervals = [[round(s, 4), round(e, 4)] for s, e in intervals]
    return {
        "id": sid, "instrument": instrument,
        "position": position_of(x) if x is not None else None,
        "x": x, "visible": x is not None, "sounding": sounding,
        "intervals": intervals,
        "loudness_db": round(float(rng.uniform(*LOUDNESS_DB)), 1) if sounding else None,
        "register": register,
        "notes": _notes(rng, instrument, register, intervals, beats) if sounding else [],
        "mimed": False,
        "seen_playing": intervals if x is not None else [],   # when the picture shows it playing
    }


def _mime(src: dict) -> None:
    """Make a performer mime: the picture still shows it playing its intervals, nothing is heard."""
    src.update(sounding=False, mimed=True, intervals=[], notes=[], loudness_db=None)


def sample_scene(seed: int, index: int, duration: float, fps: int, size: tuple[int, int],
                 sample_rate: int) -> dict:
    """The ground truth of video `index`: performers, notes, tempo, background, voice-over."""
    rng = video_rng(seed, index, Stream.SCENE)
    tempo = _tempo(rng, duration)
    beats = beat_times(tempo)
    n_vis = int(rng.choice(list(N_VISIBLE_P), p=list(N_VISIBLE_P.values())))
    options = SLOTS[n_vis]
    xs = list(options[int(rng.integers(len(options)))])
    if n_vis == 1:
        xs = [xs[int(rng.integers(3))]]
    classes = [str(c) for c in rng.choice(INSTRUMENTS, size=n_vis, replace=False)]
    if n_vis >= 2 and rng.random() < P_DUPLICATE:
        i, j = rng.choice(n_vis, size=2, replace=False)
        classes[j] = classes[i]
    silent = [bool(rng.random() < P_SILENT) for _ in range(n_vis)]
    sources = [_source(rng, i, c, x, not s, duration, beats)
               for i, (c, x, s) in enumerate(zip(classes, xs, silent))]
    # Mimes draw from their own stream so every other choice stays as it was. Only a performer
    # whose class is alone on screen mimes: "how many violins sound" stays answerable from
    # "which violins are seen playing" and "is a violin heard".
    mimes = video_rng(seed, index, Stream.MIMES)
    for src in sources:
        if src["sounding"] and classes.count(src["instrument"]) == 1 and mimes.random() < P_MIME:
            _mime(src)
    if rng.random() < P_OFFSCREEN or not any(s["sounding"] for s in sources):
        others = [c for c in INSTRUMENTS if c not in classes]
        sources.append(_source(rng, len(sources), str(rng.choice(others)), None, True, duration, beats))
    voice = []
    if rng.random() < P_VOICEOVER:
        length = min(rng.uniform(1.5, 3.0), 0.6 * duration)
        start = rng.uniform(0.0, duration - length)
        voice = [[round(start, 4), round(start + length, 4)]]
    return {
        "video_id": f"{index:08d}",
        "generator": CLASSIC_GENERATOR,
        "duration": float(duration), "fps": int(fps), "size": [int(size[0]), int(size[1])],
        "sample_rate": int(sample_rate),
        "background": "indoor" if rng.random() < 0.5 else "outdoor",
        "voiceover": {"present": bool(voice), "intervals": voice},
        "sources": sources,
        "tempo": tempo,
        "tempo_changes": [p["start"] for p in tempo[1:]],
        "seed": [int(seed), int(index)],
    }
