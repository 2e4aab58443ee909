"""How a source plays: its notes with expression, on the scene's beat grid (the new world's score).

`play(rng, instrument, register, intervals, beats, density, piece)` returns
{"notes": [{"t", "dur", "pitch", "velocity"}], "onsets": distinct onset times, "articulation":
legato|normal|staccato, "vibrato": depth in semitones (0 where the instrument has none), "vibrato_hz",
"slide": portamento in semitones (erhu, suona; else 0), "dynamics": steady|crescendo|decrescendo|swell,
"key", "meter"}. Store notes, articulation, vibrato, vibrato_hz, slide and dynamics in the source: the
renderer reads them there.

The music: a piece (`draw_piece`: meter 4/4 or 3/4, a major or minor key, a four-chord progression)
that every source of a scene shares, so they play in one key and one harmony. Each bar takes a rhythm
figure from rhythms.py (straight, dotted, syncopated, with rests; exactly `density` onsets per beat
over a bar), in phrases of four bars A B A C. By role:
- melody: steps and leaps in the key (a leap is followed by a step back), chord tones on strong beats,
  the phrase's last note on a chord tone; pentatonic for erhu, guzheng, pipa and suona;
- chords (piano, guitar, ukulele, banjo, accordion, guzheng, pipa): two or three chord tones under
  the melody on strong beats, struck at the same onset;
- bass (electric bass, tuba): the chord's root on strong beats, fifths and octaves between;
- drum: kick, snare and hi-hat (or ride) grooves, a crash opening each phrase and a tom fill closing
  it; congas: tumbao-like open, muted and low strokes (GM percussion keys).
Velocity = metric accent (downbeat > other strong beat > beat > off-beat) x the interval's dynamics
curve, so the beat is audible. Articulation sets note lengths (legato overlaps the next note by 30 ms,
staccato keeps under half the written length). Vibrato is for bowed and blown instruments that use it,
slides for the erhu and suona; soundfont.py renders both as pitch bend.

Guarantees the question writer relies on: the first onset of each interval is exactly its start;
every note starts and ends inside its interval; every onset is a beat of `beats` or a half or quarter
of one (so the tempo truth stays exact; an interval start off the grid is the one exception, as the
first onset must be there); a higher density gives more distinct onsets per second (the patterns
differ in placement, not count).
"""
from __future__ import annotations

import math

import numpy as np

from amuse_cli.synth import rhythms
from amuse_cli.synth.timbre import TIMBRES, UNPITCHED, register_center

SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
PENTATONIC = {"major": (0, 1, 2, 4, 5), "minor": (0, 2, 3, 4, 6)}     # scale degrees kept
PROGRESSIONS = {    # chord roots as scale degrees (0 = tonic), one chord per bar
    "major": ((0, 4, 5, 3), (0, 3, 4, 0), (5, 3, 0, 4), (0, 5, 1, 4), (0, 0, 3, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 4)),
}
METERS = {4: 0.75, 3: 0.25}          # beats per bar -> probability
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
PENTATONIC_CLASSES = ("erhu", "guzheng", "pipa", "suona")
CHORDS = {"piano": (0.9, 3), "acoustic_guitar": (0.9, 3), "ukulele": (0.85, 2), "banjo": (0.7, 2),
          "accordion": (0.8, 2), "guzheng": (0.6, 2), "pipa": (0.4, 2)}   # P(chord at a strong onset), notes added
CHORD_FLOOR = {"acoustic_guitar": 40, "ukulele": 60, "banjo": 48, "pipa": 45}   # lowest string (MIDI); else C2
BASS = ("electric_bass", "tuba")
VIBRATO = {"violin": (0.15, 0.3), "cello": (0.15, 0.25), "erhu": (0.25, 0.45), "flute": (0.08, 0.15),
           "saxophone": (0.1, 0.2), "trumpet": (0.05, 0.12), "bassoon": (0.05, 0.1), "suona": (0.1, 0.2)}
VIBRATO_HZ = (5.0, 6.0)
SLIDES = {"erhu": (0.8, 1.5), "suona": (0.5, 1.0)}    # portamento into a new pitch, semitones at most
ARTICULATIONS = ("legato", "normal", "staccato")
ARTICULATION_P = {"bowed": (0.4, 0.4, 0.2), "blown": (0.4, 0.4, 0.2), "plucked": (0.25, 0.5, 0.25),
                  "struck": (0.25, 0.5, 0.25)}
DYNAMICS = ("steady", "crescendo", "decrescendo", "swell")
LEGATO_OVERLAP_S = 0.03
NORMAL_FRACTION = 0.85
STACCATO_FRACTION, STACCATO_MAX_S = 0.45, 0.2
MIN_NOTE_S = 0.05       # no onset closer than this to an interval's end
HIT_S = 0.15            # drum and conga strokes (the kit's samples ring out on their own)
MELODY_RANGE = (-7, 9)  # semitones around the register centre
PHRASE_BARS = 4
EPS = 1e-6
GRID_TOL_S = 1e-4    # an interval start is a beat rounded to 0.1 ms; onsets are >= a quarter beat apart


def draw_piece(rng: np.random.Generator) -> dict:
    """What all sources of a scene share: meter, key and chord progression."""
    meter = int(rng.choice(list(METERS), p=list(METERS.values())))
    mode = "major" if rng.random() < 0.65 else "minor"
    progs = PROGRESSIONS[mode]
    return {"meter": meter, "tonic": int(rng.integers(12)), "mode": mode,
            "progression": list(progs[int(rng.integers(len(progs)))])}


def dynamic_level(kind: str, u):
    """Loudness factor (0.6..1) at fraction u (0..1) of an interval."""
    u = np.clip(u, 0.0, 1.0)
    if kind == "crescendo":
        return 0.6 + 0.4 * u
    if kind == "decrescendo":
        return 1.0 - 0.4 * u
    if kind == "swell":
        return 0.65 + 0.35 * np.sin(np.pi * u)
    return 0.85 + 0.0 * u


def metric_accent(pos: float, meter: int) -> float:
    """Accent of an onset `pos` beats into its cell: downbeat, other strong beat, beat, off-beats."""
    beat, frac = int(pos) % meter, pos % 1
    if frac:
        return 0.62 if frac == 0.5 else 0.55
    return 1.0 if beat == 0 else (0.88 if meter == 4 and beat == 2 else 0.78)


def _cells(beats, span: int) -> list[list[int]]:
    """Beat indices grouped into cells of `span` beats; the grid restarts at a tempo change, so do cells."""
    cells, cur = [], []
    for i, (t, step) in enumerate(beats):
        restart = i > 0 and (abs(beats[i - 1][1] - step) > 1e-9 or abs(beats[i - 1][0] + beats[i - 1][1] - t) > EPS)
        if cur and (restart or len(cur) == span):
            cells.append(cur)
            cur = []
        cur.append(i)
    return cells + ([cur] if cur else [])


def _events(span, figures, straight, first, beats, intervals):
    """[t, beat length s, position in the cell (beats), payload, cell index] per onset, per interval.

    `figures` are the four cells of a phrase (A B A C); a cell the interval covers only in part plays
    the evenly spaced `straight` figure, so short entries keep the density's rate; `first` is the payload
    of an onset added at an interval's start when its figure has none there (the first onset is the start)."""
    cells = _cells(beats, span)
    per_interval = []
    for s, e in intervals:
        out = []
        for c, cell in enumerate(cells):
            t0, t1 = beats[cell[0]][0], beats[cell[-1]][0] + beats[cell[-1]][1]
            if t0 > e or t1 < s:
                continue
            whole = t0 >= s - GRID_TOL_S and t1 <= e + GRID_TOL_S and len(cell) == span
            for item in (figures[c % PHRASE_BARS] if whole else straight):
                pos, payload = item[0], item[1:]
                if int(pos) >= len(cell):
                    continue                                  # the cell was cut by a tempo change
                j = cell[int(pos)]
                t0, step = beats[j]
                exact = t0 + (pos % 1) * step
                if j + 1 < len(beats) and exact > beats[j + 1][0] - GRID_TOL_S:
                    continue                                  # past a tempo change: the new grid rules
                t = s if abs(exact - s) < GRID_TOL_S else round(exact, 4)
                if s <= t <= e - MIN_NOTE_S:
                    out.append([t, step, pos, payload, c])
        out.sort(key=lambda ev: ev[0])
        if not out or out[0][0] != s:
            j = min(range(len(beats)), key=lambda i: abs(beats[i][0] - s))     # its beat (or the nearest)
            c = next(k for k, cell in enumerate(cells) if j in cell)
            out.insert(0, [s, beats[j][1], float(cells[c].index(j)), first, c])
        per_interval.append((s, e, out))
    return per_interval


def _durations(events, e, articulation, fixed=None):
    """Sounding length of each onset: written length shaped by articulation, inside the interval."""
    times = sorted({ev[0] for ev in events})
    nxt = {t: (times[i + 1] if i + 1 < len(times) else e) for i, t in enumerate(times)}
    out = []
    for t, step, pos, payload, _ in events:
        if fixed is not None:
            d = fixed
        else:
            written = min(payload[0] * step, nxt[t] - t)
            if articulation == "legato":
                d = written + LEGATO_OVERLAP_S if nxt[t] - t - written < 0.02 else written
            elif articulation == "staccato":
                d = min(STACCATO_FRACTION * written, STACCATO_MAX_S)
            else:
                d = NORMAL_FRACTION * written
        d = min(d, e - t)
        out.append(max(math.floor(d * 1e4) / 1e4, 1e-4))
    return out


def _ladder(piece, centre: int, pentatonic: bool, lo: int, hi: int) -> list[int]:
    """In-key pitches from centre+lo to centre+hi."""
    scale = SCALES[piece["mode"]]
    keep = {scale[d] for d in PENTATONIC[piece["mode"]]} if pentatonic else set(scale)
    return [p for p in range(centre + lo, centre + hi + 1) if (p - piece["tonic"]) % 12 in keep]


def _chord(piece, bar: int) -> set[int]:
    """Pitch classes of the bar's triad."""
    scale = SCALES[piece["mode"]]
    root = piece["progression"][bar % len(piece["progression"])]
    return {(piece["tonic"] + scale[(root + k) % 7]) % 12 for k in (0, 2, 4)}


def _root(piece, bar: int) -> int:
    return (piece["tonic"] + SCALES[piece["mode"]][piece["progression"][bar % len(piece["progression"])]]) % 12


class _Melody:
    """A walk on the ladder: mostly steps, some leaps (then a step back), chord tones on strong beats."""

    def __init__(self, rng, ladder):
        self.rng, self.ladder = rng, ladder
        self.i = int(rng.integers(len(ladder) // 3, 2 * len(ladder) // 3 + 1))
        self.back = 0

    def next(self, strong: bool, chord: set[int]) -> int:
        r = self.rng.random()
        if self.back:
            move, self.back = self.back, 0
        elif r < 0.6:
            move = int(self.rng.choice((-1, 1)))
        elif r < 0.72:
            move = 0
        else:
            move = int(self.rng.choice((-1, 1))) * int(self.rng.integers(2, 5))
            self.back = -int(np.sign(move))
        i = self.i + move
        if i < 0 or i >= len(self.ladder):
            i, self.back = self.i - move, 0
        i = int(np.clip(i, 0, len(self.ladder) - 1))
        if strong:                                   # land on the nearest chord tone
            tones = [k for k, p in enumerate(self.ladder) if p % 12 in chord]
            if tones:
                i = min(tones, key=lambda k: (abs(k - i), k))
        self.i = i
        return self.ladder[i]


def _under(top: int, chord: set[int], n: int, floor: int) -> list[int]:
    """Up to n chord tones below `top` and not under `floor` (other pitch classes than the top's), nearest first."""
    out = []
    for p in range(top - 1, max(top - 13, floor - 1), -1):
        if p % 12 in chord and p % 12 != top % 12 and p % 12 not in {q % 12 for q in out}:
            out.append(p)
            if len(out) == n:
                break
    return out


def _strong(pos: float, meter: int) -> bool:
    return pos % 1 == 0 and int(pos) % meter in ((0, 2) if meter == 4 else (0,))


def _pitched(rng, instrument, register, piece, per_interval, articulation, dynamics):
    centre = register_center(register)
    bass = instrument in BASS
    lo, hi = (-5, 7) if bass else MELODY_RANGE
    ladder = _ladder(piece, centre, instrument in PENTATONIC_CLASSES and not bass, lo, hi)
    walker = _Melody(rng, ladder)
    chord_p, chord_n = CHORDS.get(instrument, (0.0, 0))
    notes, prev = [], ladder[len(ladder) // 2]
    for s, e, events in per_interval:
        durs = _durations(events, e, articulation)
        for k, ((t, step, pos, payload, bar), dur) in enumerate(zip(events, durs)):
            chord = _chord(piece, bar)
            strong = _strong(pos, piece["meter"])
            phrase_end = bar % PHRASE_BARS == PHRASE_BARS - 1 and (k + 1 == len(events) or events[k + 1][4] != bar)
            last = k + 1 == len(events) or phrase_end          # lands on a chord tone
            if bass:
                root = _root(piece, bar)
                want = root if strong else int(rng.choice([root, (root + 7) % 12]))     # root or fifth between
                cands = [p for p in ladder if p % 12 == want] or ladder
                pitch = min(cands, key=lambda p: (abs(p - prev), p))
                prev = pitch
            else:
                pitch = walker.next(strong or last, chord)
            vel = metric_accent(pos, piece["meter"]) * float(dynamic_level(dynamics, (t - s) / (e - s)))
            vel = float(np.clip(vel + rng.uniform(-0.03, 0.03), 0.25, 1.0))
            stack = [pitch]
            if strong and rng.random() < chord_p:
                stack += _under(pitch, chord, chord_n, CHORD_FLOOR.get(instrument, 36))
            for p in stack:
                v = vel if p == pitch else 0.85 * vel                  # chord tones under the melody, softer
                notes.append({"t": t, "dur": dur, "pitch": int(p), "velocity": round(v, 3)})
    return notes


def _percussion(rng, per_interval, dynamics):
    notes = []
    for s, e, events in per_interval:
        durs = _durations(events, e, "normal", fixed=HIT_S)
        for (t, step, pos, (keys, vel), bar), dur in zip(events, durs):
            level = float(dynamic_level(dynamics, (t - s) / (e - s)))
            for key in keys:
                v = float(np.clip(vel * level + rng.uniform(-0.03, 0.03), 0.25, 1.0))
                notes.append({"t": t, "dur": dur, "pitch": int(key), "velocity": round(v, 3)})
    return notes


def _figures(rng, instrument, meter: int, density: float):
    """(span, the four cells of a phrase, the straight figure, payload of a forced first onset).

    Melodic: figures A B A C. Drum: one groove, a crash opening and a tom fill closing the phrase.
    Congas: two figures alternating. Every cell keeps its table's onset count."""
    table = rhythms.DRUMS if instrument == "drum" else rhythms.CONGAS if instrument == "congas" else rhythms.MELODIC
    span, patterns = table[(meter, float(density))]
    pick = [patterns[int(i)] for i in rng.choice(len(patterns), size=3, replace=len(patterns) < 3)]
    if instrument == "drum":
        g = pick[0]
        return span, (rhythms.crash(g), g, g, rhythms.drum_fill(g) if len(g) >= 4 else g), g, \
            ((rhythms.KICK, rhythms.HAT), 1.0)
    if instrument == "congas":
        return span, (pick[0], pick[1], pick[0], pick[1]), pick[0], ((rhythms.CONGA_LOW,), 1.0)
    return span, (pick[0], pick[1], pick[0], pick[2]), patterns[0], (float(span),)


def play(rng: np.random.Generator, instrument: str, register: str | None, intervals, beats,
         density: float, piece: dict | None = None) -> dict:
    """One source's performance over its playing intervals (see the module docstring)."""
    piece = piece or draw_piece(rng)
    intervals = [(float(s), float(e)) for s, e in intervals]
    dynamics = str(rng.choice(DYNAMICS))
    per_interval = _events(*_figures(rng, instrument, piece["meter"], density), beats, intervals)
    if instrument in UNPITCHED:
        notes = _percussion(rng, per_interval, dynamics)
        articulation, vibrato, hz, slide = "normal", 0.0, 0.0, 0.0
    else:
        family = TIMBRES[instrument][0]
        articulation = str(rng.choice(ARTICULATIONS, p=ARTICULATION_P[family]))
        lo, hi = VIBRATO.get(instrument, (0.0, 0.0))
        vibrato = round(float(rng.uniform(lo, hi)), 3) if hi else 0.0
        hz = round(float(rng.uniform(*VIBRATO_HZ)), 2) if hi else 0.0
        lo, hi = SLIDES.get(instrument, (0.0, 0.0))
        slide = round(float(rng.uniform(lo, hi)), 2) if hi else 0.0
        notes = _pitched(rng, instrument, register, piece, per_interval, articulation, dynamics)
    notes.sort(key=lambda n: (n["t"], n["pitch"]))
    return {"notes": notes, "onsets": sorted({n["t"] for n in notes}), "articulation": articulation,
            "vibrato": vibrato, "vibrato_hz": hz, "slide": slide, "dynamics": dynamics,
            "key": f"{NOTE_NAMES[piece['tonic']]} {piece['mode']}", "meter": piece["meter"]}
