"""Harder pieces for bench/rhythm.py (`--generator hard`), and the mix both generators render through.

The bench's own pieces (bench/rhythm.py, "today") play one note value per clip, accented on the beat: the
beat is easy to hear. These pieces are written the way players play:
  rhythm    per bar, cells of dotted notes, syncopation (eighth-quarter-eighth), triplets, sixteenths,
            half and whole notes and rests; ties merge a note into the next (across beats and bar lines);
            a quarter of the clips swing their eighths (2:1); meters 4/4, 3/4 and 2/4;
  density   each 3 s segment is sparse (whole, half, dotted and quarter notes, rests), medium or dense
            (eighths, sixteenths, triplets); note rate changes by 2-4x where the density does;
  harmony   a chord per bar (I IV V vi or a minor key's i iv V VI); the melody leans on chord tones;
            plucked and keyboard instruments add an accompaniment of block chords, strummed beats or
            broken-chord eighths under the melody;
  playing   legato for bowed and blown instruments (each note held into the next, soft attacks:
            low velocities, phrase swells instead of beat accents); +-2 % rubato (a slow tempo swell)
            and +-12 ms of timing jitter on every note; a second melodic instrument in a quarter of the
            clips; a room (an exponentially decaying reverb) in most;
  drums     half the clips: a GM kit (rock or waltz patterns, quarter or eighth hats, fills) or congas.
Tempo maps, 30 s: `constant` (one tempo), `rate` (one tempo; the melody's density changes on 1-3
segment boundaries: these segments must NOT be labelled a change), `boundary` (1-3 tempo changes of
x1.4-2.05 on segment boundaries, one density throughout). Truth per segment: the time-weighted
mean of the played tempo (rubato included), as features/truth.segment_bpm defines it.

Development seeds (the only ones looked at while the labeller was changed for issue 23): 11, 12, 13.
"""
from __future__ import annotations

import math

import numpy as np

from amuse_cli.data.taxonomy import INSTRUMENTS
from amuse_cli.features import rhythm, truth
from amuse_cli.synth import soundfont

SR = 16000
CLIP_S = 30.0
SEGMENT_S = 3.0
DEV_SEEDS = (11, 12, 13)
KINDS = {"constant": 0.2, "rate": 0.3, "boundary": 0.5}     # share of the clips
RATIO = (1.4, 2.05)                 # tempo change factor, drawn uniformly on a log scale, up or down
BPM_START, BPM_LIMITS = (60.0, 160.0), (45.0, 210.0)
TRUTH_MARGIN = 0.10                 # redraw maps with |dBPM| / (theta * mean) within 1 +- this
RUBATO, JITTER_S = (0.01, 0.02), 0.012     # tempo swell depth (fraction), note timing jitter (s; sd half of it)
SWING_P, DUET_P, ROOM_P = 0.25, 0.25, 0.7
ROOM_DB = -60.0                     # faint noise so a track is never digitally silent (as synth/audio.py)
PEAK = 0.95

# melodic class -> (family, lowest and highest MIDI pitch of its melody, plays chords).
# Ranges are each instrument's comfortable melodic range in GM; chords: plucked and keyboard instruments.
VOICES = {
    "accordion": ("keyboard", 60, 84, True), "acoustic_guitar": ("plucked", 52, 76, True),
    "bagpipe": ("blown", 67, 81, False), "banjo": ("plucked", 60, 79, True),
    "bassoon": ("blown", 43, 65, False), "cello": ("bowed", 43, 67, False),
    "clarinet": ("blown", 55, 79, False), "electric_bass": ("plucked", 31, 52, False),
    "erhu": ("bowed", 62, 86, False), "flute": ("blown", 67, 91, False),
    "guzheng": ("plucked", 55, 81, True), "piano": ("keyboard", 60, 84, True),
    "pipa": ("plucked", 57, 81, True), "saxophone": ("blown", 53, 75, False),
    "suona": ("blown", 67, 86, False), "trumpet": ("blown", 58, 79, False),
    "tuba": ("blown", 33, 53, False), "ukulele": ("plucked", 60, 79, True),
    "violin": ("bowed", 62, 88, False), "xylophone": ("struck", 65, 89, False),
}
assert set(VOICES) | {"drum", "congas"} == set(INSTRUMENTS)
MELODIC = tuple(c for c in INSTRUMENTS if c in VOICES)
LEGATO = ("bowed", "blown")

# Rhythm cells in beats (a negative value is a rest), by density.
CELLS = {
    "sparse": [[4], [2], [3], [2, -2], [1.5, 0.5], [1], [-1], [2, 1, 1], [1, -1]],
    "medium": [[1], [0.5, 0.5], [1.5, 0.5], [0.75, 0.25], [0.5, 1, 0.5], [-0.5, 0.5], [2], [1, 1],
               [1 / 3, 1 / 3, 1 / 3], [-1, 1]],
    "dense": [[0.5, 0.5], [0.25, 0.25, 0.25, 0.25], [0.75, 0.25], [1 / 3, 1 / 3, 1 / 3], [0.25, 0.25, 0.5],
              [0.5, 0.25, 0.25], [0.5, 1, 0.5], [-0.5, 0.25, 0.25]],
}
DENSITIES = tuple(CELLS)
MAJOR, MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)
PROGRESSION = (0, 3, 4, 5)          # scale degrees of the bar chords: I IV V vi (minor: i iv v VI)


# --- tempo ------------------------------------------------------------------------------------------

def _nominal(rng, kind: str) -> list[float]:
    """The written tempo of each segment (changes only on segment boundaries)."""
    n_seg = int(CLIP_S // SEGMENT_S)
    bpm = [float(rng.uniform(*BPM_START))] * n_seg
    if kind != "boundary":
        return bpm
    at = sorted(int(s) for s in rng.choice(np.arange(1, n_seg), size=int(rng.integers(1, 4)), replace=False))
    for s in at:
        r = float(np.exp(rng.uniform(*np.log(RATIO))))
        up, down = bpm[s - 1] * r <= BPM_LIMITS[1], bpm[s - 1] / r >= BPM_LIMITS[0]
        new = bpm[s - 1] * r if up and (not down or rng.random() < 0.5) else bpm[s - 1] / r
        bpm[s:] = [new] * (n_seg - s)
    return bpm


def tempo_curve(rng, nominal: list[float]) -> tuple[list[dict], list[float]]:
    """(0.1 s tempo pieces for the truth, beat times): the written tempo swelled by +-1-2 % rubato; the beat
    grid restarts on every written change (a bar line)."""
    depth, period, phase = rng.uniform(*RUBATO), rng.uniform(5.0, 12.0), rng.uniform(0, 2 * math.pi)
    dt = 0.001
    t = np.arange(0.0, CLIP_S, dt)
    base = np.array(nominal)[np.minimum((t // SEGMENT_S).astype(int), len(nominal) - 1)]
    bpm = base * (1 + depth * np.sin(2 * math.pi * t / period + phase))
    beats = []
    starts = [0] + [k for k in range(1, len(nominal)) if nominal[k] != nominal[k - 1]]
    for a, b in zip(starts, starts[1:] + [len(nominal)]):
        sel = (t >= a * SEGMENT_S) & (t < b * SEGMENT_S)
        phase_k = np.concatenate([[0.0], np.cumsum(bpm[sel] / 60.0 * dt)])[:-1]
        beats += [float(t[sel][np.searchsorted(phase_k, k)]) for k in range(int(phase_k[-1]) + 1)]
    fine = [{"start": round(a, 3), "end": round(min(a + 0.1, CLIP_S), 3),
             "bpm": float(bpm[(t >= a - 1e-9) & (t < a + 0.1 - 1e-9)].mean())} for a in np.arange(0.0, CLIP_S, 0.1)]
    return fine, beats


def beat_time(beats: list[float], pos: float) -> float:
    """Seconds at a position counted in beats (fractions interpolate; past the last beat, its length)."""
    k = int(math.floor(pos))
    if k + 1 < len(beats):
        return beats[k] + (pos - k) * (beats[k + 1] - beats[k])
    last = beats[-1] - beats[-2] if len(beats) > 1 else 0.5
    return beats[-1] + (pos - len(beats) + 1) * last


# --- notes --------------------------------------------------------------------------------------------

def _swing(pos: float) -> float:
    """Swung eighths: the off-beat eighth moves from 1/2 to 2/3 of the beat."""
    k, f = math.floor(pos), pos - math.floor(pos)
    return k + (f * 4 / 3 if f <= 0.5 else 2 / 3 + (f - 0.5) * 2 / 3)


def _rhythm(rng, densities: list[str], beats: list[float], meter: int) -> list[tuple[float, float, str]]:
    """(start, length, density) in beats of every note, rests left out and ties merged: cells drawn bar by
    bar from the density of the segment where each cell starts."""
    total = len(beats)
    out, pos = [], 0.0
    while pos < total - 1e-9:
        bar_end = min(total, (math.floor(pos / meter + 1e-9) + 1) * meter)
        seg = min(int(beat_time(beats, pos) // SEGMENT_S), len(densities) - 1)
        density = densities[seg]
        fits = [c for c in CELLS[density] if sum(abs(v) for v in c) <= bar_end - pos + 1e-9] or [[bar_end - pos]]
        cell = fits[int(rng.integers(len(fits)))]
        for v in cell:
            if v > 0 and rng.random() > 0.08:          # a few more rests
                tie = out and rng.random() < 0.12 and abs(out[-1][0] + out[-1][1] - pos) < 1e-9
                if tie:
                    out[-1] = (out[-1][0], out[-1][1] + v, out[-1][2])
                else:
                    out.append((pos, v, density))
            pos += abs(v)
    return out


def _chords(rng, bars: int) -> tuple[tuple[int, ...], list[int]]:
    """A key (major or minor) and a chord per bar, every fourth bar on the tonic."""
    scale = MAJOR if rng.random() < 0.6 else MINOR
    return scale, [int(PROGRESSION[int(rng.integers(len(PROGRESSION)))]) if b % 4 else 0 for b in range(bars)]


def _pitch(scale, key: int, degree: int) -> int:
    return key + 12 * (degree // 7) + scale[degree % 7]


def _velocity(rng, pos: float, meter: int, family: str, phrase: float) -> float:
    """Loudness of a note: the phrase's level, accents on the downbeat and the beat (halved for legato)."""
    accent = 0.15 if abs(pos % meter) < 1e-6 else 0.06 if abs(pos - round(pos)) < 1e-6 else -0.08
    accent *= 0.5 if family in LEGATO else 1.0
    base = phrase * (0.75 if family in LEGATO else 1.0)
    return float(np.clip(base + accent + rng.uniform(-0.08, 0.08), 0.2, 1.0))


def melody(rng, instrument: str, beats: list[float], densities: list[str], meter: int, swing: bool,
           scale, chords: list[int], key: int) -> list[dict]:
    """One melodic line: cells from `_rhythm`, pitches walking the scale and landing on chord tones on
    strong beats, legato for bowed and blown instruments."""
    family, lo, hi, _ = VOICES[instrument]
    notes = []
    degree = int(rng.integers(0, 7))
    phrases = rng.uniform(0.55, 0.95, size=len(beats) // (2 * meter) + 2)
    for start, length, _ in _rhythm(rng, densities, beats, meter):
        bar = int(start // meter)
        if abs(start - round(start)) < 1e-6 and rng.random() < 0.6:      # strong beat: a chord tone
            root = chords[min(bar, len(chords) - 1)]
            degree = root + int(rng.choice([0, 2, 4])) + 7 * ((degree - root) // 7)
        else:
            degree += int(rng.choice([-2, -1, -1, 1, 1, 2, 0, 3, -3]))
        pitch = _pitch(scale, key, degree)
        while pitch > hi:
            degree, pitch = degree - 7, pitch - 12
        while pitch < lo:
            degree, pitch = degree + 7, pitch + 12
        a, b = (_swing(start), _swing(start + length)) if swing else (start, start + length)
        t0, t1 = beat_time(beats, a), beat_time(beats, b)
        hold = 1.0 if family in LEGATO else float(rng.uniform(0.6, 0.95))
        notes.append({"t": t0, "dur": max(0.05, hold * (t1 - t0) + (0.02 if family in LEGATO else 0.0)),
                      "pitch": int(pitch), "velocity": _velocity(rng, start, meter, family,
                                                                 phrases[int(start // (2 * meter))])})
    return notes


def accompaniment(rng, beats: list[float], meter: int, swing: bool, scale, chords: list[int], key: int) -> list[dict]:
    """Chords under a plucked or keyboard melody: a block chord per bar (or half bar), strummed beats,
    or broken-chord eighths, an octave below the melody's key."""
    style = str(rng.choice(["block", "strum", "broken"]))
    notes, low = [], key - 12
    for bar, root in enumerate(chords):
        tones = [_pitch(scale, low, root + d) for d in (0, 2, 4)]
        first = bar * meter
        if style == "block":
            hits = [(first, meter)] if meter < 4 or rng.random() < 0.5 else [(first, 2), (first + 2, 2)]
            for s, n in hits:
                notes += [(s, n, p, 0.5) for p in tones]
        elif style == "strum":
            for b in range(meter):
                notes += [(first + b, 0.9, p, 0.45 if b else 0.55) for p in tones]
        else:
            order = [tones[0], tones[2], tones[1], tones[2]]
            for e in range(2 * meter):
                notes.append((first + e / 2, 0.5, order[e % 4], 0.4 if e % 2 else 0.5))
    out = []
    for s, n, p, v in notes:
        if s >= len(beats) - 1e-9:
            break
        a, b = (_swing(s), _swing(s + n)) if swing else (s, s + n)
        t0, t1 = beat_time(beats, a), beat_time(beats, b)
        out.append({"t": t0, "dur": max(0.05, 0.95 * (t1 - t0)), "pitch": int(p),
                    "velocity": float(np.clip(v + rng.uniform(-0.08, 0.08), 0.2, 1.0))})
    return out


def drums(rng, kit: str, beats: list[float], meter: int, swing: bool) -> list[dict]:
    """A kit (kick and snare on the meter's strong and weak beats, quarter or eighth hats, a fill every
    few bars) or congas (open tones on the beat, slaps and mutes between)."""
    hits = []
    eighth_hats = rng.random() < 0.6
    fill_every = int(rng.choice([4, 8, 0]))
    for b in range(len(beats)):
        beat_in_bar, bar = b % meter, b // meter
        if kit == "drum":
            if fill_every and bar % fill_every == fill_every - 1 and beat_in_bar == meter - 1:
                hits += [(b + k / 4, 38, 0.55 + 0.1 * k) for k in range(4)]
                continue
            if meter == 3:
                hits.append((b, 36 if beat_in_bar == 0 else 42, 0.95 if beat_in_bar == 0 else 0.5))
                if beat_in_bar:
                    hits.append((b, 38, 0.6))
            else:
                hits.append((b, 36 if beat_in_bar % 2 == 0 else 38, 0.95 if beat_in_bar == 0 else 0.8))
                if beat_in_bar == meter - 1 and rng.random() < 0.3:
                    hits.append((b + 0.5, 36, 0.7))
            hits.append((b, 42, 0.5))
            if eighth_hats:
                hits.append((b + 0.5, 42, 0.35))
        else:
            hits.append((b, 63 if beat_in_bar == 0 else 64, 0.9 if beat_in_bar == 0 else 0.7))
            hits.append((b + 0.5, 62, 0.5))
            if rng.random() < 0.3:
                hits.append((b + 0.75, 62, 0.4))
    out = []
    for s, p, v in hits:
        if s >= len(beats) - 1e-9:
            continue
        t0 = beat_time(beats, _swing(s) if swing else s)
        out.append({"t": t0, "dur": 0.1, "pitch": p, "velocity": float(np.clip(v + rng.uniform(-0.1, 0.1), 0.2, 1.0))})
    return out


def _jitter(rng, notes: list[dict]) -> list[dict]:
    """Every note moved by up to +-JITTER_S, sorted; a note held into a repeat of its own key ends where the
    repeat starts (its note-off would silence the repeat)."""
    for n in notes:
        n["t"] = round(float(np.clip(n["t"] + np.clip(rng.normal(0, JITTER_S / 2), -JITTER_S, JITTER_S),
                                     0.0, CLIP_S - 0.05)), 4)
    nxt, out = {}, []
    for n in sorted(notes, key=lambda n: n["t"], reverse=True):
        if nxt.get(n["pitch"], CLIP_S) - n["t"] < 0.02:       # the same key struck twice at once: keep one
            continue
        n["dur"] = round(float(min(n["dur"], CLIP_S - n["t"], nxt.get(n["pitch"], CLIP_S) - n["t"])), 4)
        nxt[n["pitch"]] = n["t"]
        out.append(n)
    return out[::-1]


def _densities(rng, kind: str) -> list[str]:
    """The melody's density per segment: for `rate`, 1-3 changes to another density on segment
    boundaries; otherwise one density for the whole clip. A tempo change never comes with a density
    change: doubling the tempo while halving the note values leaves the same sound (only the accents
    differ), which no labeller can be asked to tell."""
    n_seg = int(CLIP_S // SEGMENT_S)
    out = [str(rng.choice(DENSITIES))] * n_seg
    changes = int(rng.integers(1, 4)) if kind == "rate" else 0
    for s in sorted(rng.choice(np.arange(1, n_seg), size=changes, replace=False)):
        out[s:] = [str(rng.choice([d for d in DENSITIES if d != out[s - 1]]))] * (n_seg - s)
    return out


# --- clips --------------------------------------------------------------------------------------------

def pieces(seed: int, clips: int, theta: float) -> list[dict]:
    """Every clip's meta: sources with notes (the shape render() takes), tempo pieces for the truth, and the
    bench's fields (kind, instrument, family, drums, changes, per-segment density)."""
    rng = np.random.default_rng([seed, 23])
    counts = {k: int(round(share * clips)) for k, share in KINDS.items()}
    counts["boundary"] += clips - sum(counts.values())
    kinds = rng.permutation([k for k, n in counts.items() for _ in range(n)])
    bounds, mask = rhythm.segment_bounds(CLIP_S, SEGMENT_S, int(CLIP_S // SEGMENT_S))
    offset = int(rng.integers(len(MELODIC)))
    out = []
    for i, kind in enumerate(kinds):
        r = np.random.default_rng([seed, 23, i])
        kind = str(kind)
        while True:
            nominal = _nominal(r, kind)
            tempo, beats = tempo_curve(r, nominal)
            bpm = truth.segment_bpm({"tempo": tempo}, bounds, mask)
            diff = np.abs(np.diff(bpm)) / (theta * bpm.mean())
            if not np.any(np.abs(diff - 1) < TRUTH_MARGIN):
                break
        instrument = MELODIC[(i + offset) % len(MELODIC)]
        kit = None if (i // len(MELODIC)) % 2 == 0 else ("drum" if r.random() < 0.7 else "congas")
        meter = int(r.choice([4, 3, 2], p=[0.6, 0.3, 0.1]))
        swing = bool(r.random() < SWING_P)
        densities = _densities(r, kind)
        scale, chords = _chords(r, len(beats) // meter + 1)
        family, lo, hi, chordal = VOICES[instrument]
        key = int(r.integers(lo, lo + 12))
        notes = melody(r, instrument, beats, densities, meter, swing, scale, chords, key)
        if chordal and r.random() < 0.7:
            notes += accompaniment(r, beats, meter, swing, scale, chords, key)
        sources = [{"instrument": instrument, "sounding": True, "intervals": [[0.0, CLIP_S]],
                    "loudness_db": float(r.uniform(-20, -14)), "notes": _jitter(r, notes)}]
        if r.random() < DUET_P:
            partner = MELODIC[int(r.integers(len(MELODIC)))]
            _, plo, _, _ = VOICES[partner]
            line = melody(r, partner, beats, _densities(r, "constant"), meter, swing, scale, chords,
                          int(r.integers(plo, plo + 12)))
            sources.append({"instrument": partner, "sounding": True, "intervals": [[0.0, CLIP_S]],
                            "loudness_db": float(r.uniform(-24, -16)), "notes": _jitter(r, line)})
        if kit:
            sources.append({"instrument": kit, "sounding": True, "intervals": [[0.0, CLIP_S]],
                            "loudness_db": float(r.uniform(-22, -16)),
                            "notes": _jitter(r, drums(r, kit, beats, meter, swing))})
        room = ({"rt60": float(r.uniform(0.2, 0.9)), "wet": float(r.uniform(0.1, 0.35))}
                if r.random() < ROOM_P else None)
        changes = [SEGMENT_S * k for k in range(1, len(nominal)) if nominal[k] != nominal[k - 1]]
        out.append({"video_id": f"{i:04d}", "duration": CLIP_S, "sample_rate": SR, "kind": kind,
                    "instrument": instrument, "family": family, "drums": kit, "meter": meter, "swing": swing,
                    "duet": len(sources) - bool(kit) > 1, "densities": densities, "room": room,
                    "sources": sources, "tempo": tempo, "nominal_bpm": [round(b, 2) for b in nominal],
                    "changes": changes, "seed": [seed, 23, i, 1]})       # the render's seed
    return out


def rate_change_segments(meta: dict) -> np.ndarray:
    """Segment i (>= 1) where the written tempo stays but the melody's density differs from segment i-1."""
    d, b = meta.get("densities"), meta.get("nominal_bpm")
    out = np.zeros(int(CLIP_S // SEGMENT_S), bool)
    if d and b:
        for i in range(1, len(out)):
            out[i] = d[i] != d[i - 1] and b[i] == b[i - 1]
    return out


# --- audio ----------------------------------------------------------------------------------------------

def _db(x: float) -> float:
    return 10.0 ** (x / 20.0)


def room(audio: np.ndarray, sr: int, rt60: float, wet: float, rng) -> np.ndarray:
    """A room: the dry sound plus `wet` of it convolved with exponentially decaying noise (-60 dB at rt60)."""
    from scipy.signal import fftconvolve
    t = np.arange(int(rt60 * sr)) / sr
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    ir /= np.sqrt(np.sum(ir ** 2)) + 1e-12
    return (audio + wet * fftconvolve(audio, ir)[:len(audio)]).astype(np.float32)


def render(meta: dict, sf2, rng: np.random.Generator) -> np.ndarray:
    """Mono float32 mix: each source through the soundfont (synth.soundfont.render_notes), scaled so its RMS
    while it plays is `loudness_db` dBFS, faint room tone, the room (if any), scaled down if it would clip.
    Without a room this is synth/audio.render_audio's soundfont mix, sample for sample (so today's bench
    pieces sound as they did), kept here so the bench does not move when the synthetic world's audio does."""
    sr = meta["sample_rate"]
    n = int(round(meta["duration"] * sr))
    mix = _db(ROOM_DB) * rng.standard_normal(n).astype(np.float32)
    for src in meta["sources"]:
        track = soundfont.render_notes(src["instrument"], src["notes"], n, sr, sf2)
        active = np.zeros(n, dtype=bool)
        for s, e in src["intervals"]:
            active[int(s * sr):int(e * sr)] = True
        rms = float(np.sqrt(np.mean(track[active] ** 2))) if active.any() else 0.0
        mix += track * (_db(src["loudness_db"]) / rms) if rms > 0 else track
    if meta.get("room"):
        mix = room(mix, sr, meta["room"]["rt60"], meta["room"]["wet"], rng)
    peak = float(np.abs(mix).max())
    return (mix * (PEAK / peak) if peak > PEAK else mix).astype(np.float32)
