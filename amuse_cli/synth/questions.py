"""The 33 MUSIC-AVQA templates: what each means here, its answer from the ground truth, balancing.

A template is asked only when its answer is unambiguous with a perceptible margin (constants
below). Each meaning is one docstring-like line in MEANINGS, which the dataset card prints.
Words used throughout:
  heard     = a sound source that plays (on screen or off screen; the voice-over is not a source)
  visible   = an instrument on screen (sounding, silent, or mimed: seen playing, not heard)
  sounding  = visible and heard (a mime is visible, not sounding)
  entry     = the start of a source's first playing interval; entries are ordered only when
              max(0.5 s, duration / 8) apart, so 8 evenly sampled frames see them apart
  louder    = higher RMS level while playing (`loudness_db`), by >= LOUD_DB
  rhythmic  = more note onsets per second of its own playing time, by a ratio >= RHYTHM_RATIO
  lowest    = lowest mean pitch (pitched sources only), by >= LOW_SEMITONES
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from amuse_cli.data.taxonomy import INSTRUMENTS, TEMPLATES_RAW, number_word

LOUD_DB = 6.0          # loudness comparisons need this many dB between the two sources
RHYTHM_RATIO = 1.5     # onset-rate comparisons need this ratio
LONGER_S = 1.0         # playing-time comparisons need this many seconds
ENTRY_S = 0.5          # entries closer than max(ENTRY_S, duration / ENTRY_FRAMES) are not ordered,
ENTRY_FRAMES = 8       # so 8 evenly sampled frames put them in different frames; "simultaneously"
                       # below SAME_S
SAME_S = 0.05
ALWAYS_COVER = 0.97    # "always playing": plays >= 97% of the clip; "no" when <= NOT_ALWAYS
NOT_ALWAYS = 0.8
OVERLAP_S = 1.0        # "at the same time": overlaps >= 1 s, every other source < NO_OVERLAP_S
NO_OVERLAP_S = 0.25
LOW_SEMITONES = 7
CAP = 0.5              # balanced: no answer above 50% of a template's questions ...
CAP_YES_NO = 0.6       # ... or 60% for yes/no templates (MUSIC-AVQA v2.0)

T = [t for t, _, _ in TEMPLATES_RAW]     # T[i]: template i exactly as in the released files


class Scene:
    """Facts about one meta file that the templates ask about."""

    def __init__(self, meta: dict):
        self.meta = meta
        self.duration = meta["duration"]
        self.sources = meta["sources"]
        self.visible = sorted((s for s in self.sources if s["visible"]), key=lambda s: s["x"])
        self.heard = [s for s in self.sources if s["sounding"]]
        self.sounding = [s for s in self.visible if s["sounding"]]
        self.offscreen = [s for s in self.heard if not s["visible"]]
        self.entry_gap = entry_gap(self.duration)

    @staticmethod
    def entry(s):
        return s["intervals"][0][0]

    @staticmethod
    def playing(s):
        return sum(e - b for b, e in s["intervals"])

    @classmethod
    def rate(cls, s):
        return len(s["notes"]) / max(cls.playing(s), 1e-6)

    @staticmethod
    def pitch(s):
        return None if s["register"] is None else float(np.mean([n["pitch"] for n in s["notes"]]))

    def at(self, pos):
        """The only visible source at screen position pos, else None."""
        here = [s for s in self.visible if s["position"] == pos]
        return here[0] if len(here) == 1 else None

    def unique_heard(self, cls):
        here = [s for s in self.heard if s["instrument"] == cls]
        return here[0] if len(here) == 1 else None

    def unique_visible(self, cls):
        here = [s for s in self.visible if s["instrument"] == cls]
        return here[0] if len(here) == 1 else None

    def neighbour(self, s, side):
        """Nearest visible instrument on `side` of s."""
        i = self.visible.index(s)
        j = i - 1 if side == "left" else i + 1
        return self.visible[j] if 0 <= j < len(self.visible) else None

    def ordered_entry(self, which):
        """The heard source entering first/last, at least entry_gap apart from every other."""
        if len(self.heard) < 2:
            return None
        order = sorted(self.heard, key=self.entry)
        a, b = (order[0], order[1]) if which == "first" else (order[-1], order[-2])
        return a if abs(self.entry(a) - self.entry(b)) >= self.entry_gap else None

    @staticmethod
    def overlap(a, b):
        return sum(max(0.0, min(e1, e2) - max(s1, s2)) for s1, e1 in a["intervals"] for s2, e2 in b["intervals"])


def entry_gap(duration: float) -> float:
    """Seconds two entries must be apart to be ordered."""
    return max(ENTRY_S, duration / ENTRY_FRAMES)


def _yn(flag):
    return "yes" if flag else "no"


def _absent(rng, k, present):
    """k random classes not in `present` (the 'no' side of yes/no questions)."""
    pool = [c for c in INSTRUMENTS if c not in present]
    return [str(c) for c in rng.choice(pool, size=min(k, len(pool)), replace=False)]


def _classes(sources):
    return sorted({s["instrument"] for s in sources})


def _compare(pairs, value, margin, ratio=False):
    """(a, b, yes?) for pairs whose values differ by the margin (a difference or a ratio)."""
    out = []
    for a, b in pairs:
        va, vb = value(a), value(b)
        big, small = max(va, vb), min(va, vb)
        if (ratio and small > 0 and big / small >= margin) or (not ratio and big - small >= margin):
            out.append((a, b, va > vb))
    return out


def _pos_pairs(sc):
    spots = [(p, sc.at(p)) for p in ("left", "middle", "right")]
    spots = [(p, s) for p, s in spots if s is not None and s["sounding"]]
    return [((p, a), (q, b)) for p, a in spots for q, b in spots if p != q]


def candidates(meta: dict, rng: np.random.Generator) -> list[tuple[int, tuple, str]]:
    """Every question this video can answer unambiguously: (template index, fillers, answer)."""
    sc = Scene(meta)
    out = []
    add = lambda i, vals, ans: out.append((i, tuple(vals), ans))   # noqa: E731
    heard, visible, sounding = _classes(sc.heard), _classes(sc.visible), _classes(sc.sounding)
    silent_visible = [c for c in visible if c not in heard]
    no_sound = _absent(rng, 2, heard) + silent_visible
    no_visible = _absent(rng, 2, visible) + [c for c in _classes(sc.offscreen) if c not in visible]

    # Audio / Counting
    for c in heard:
        for d in heard + no_sound:
            if d != c:
                add(0, (c, d), _yn(d in heard))
    for c in no_sound[:2]:
        add(0, (c, heard[0]), "no")
    for c in heard:
        add(1, (c,), "yes")
    for c in no_sound:
        add(1, (c,), "no")
    add(2, (), number_word(len(sc.heard)))
    # Audio / Comparative: each class heard from exactly one source
    uniq = [s for s in sc.heard if sc.unique_heard(s["instrument"]) is s]
    pairs = [(a, b) for a in uniq for b in uniq if a is not b]
    for i, (value, margin, ratio) in ((3, (lambda s: s["loudness_db"], LOUD_DB, False)),
                                      (4, (sc.rate, RHYTHM_RATIO, True)),
                                      (5, (sc.playing, LONGER_S, False))):
        for a, b, yes in _compare(pairs, value, margin, ratio):
            add(i, (a["instrument"], b["instrument"]), _yn(yes))
    # Visual / Counting
    for c in visible:
        add(6, (c,), "yes")
        add(8, (c,), number_word(sum(s["instrument"] == c for s in sc.visible)))
        for d in visible + no_visible:
            if d != c:
                add(7, (c, d), _yn(d in visible))
    for c in no_visible:
        add(6, (c,), "no")
        add(8, (c,), "zero")
        if visible:
            add(7, (c, visible[0]), "no")
    add(9, (), number_word(len(visible)))
    # Visual / Location
    for s in sc.visible:
        if sc.unique_visible(s["instrument"]) is s:
            for side in ("left", "right"):
                n = sc.neighbour(s, side)
                if n is not None:
                    add(10, (side, s["instrument"]), n["instrument"])
    add(11, (), meta["background"])
    if len(sc.visible) >= 2:
        add(12, ("leftest",), sc.visible[0]["instrument"])
        add(12, ("rightest",), sc.visible[-1]["instrument"])
    if len(visible) == 1:
        add(13, (), visible[0])
    # Audio-Visual / Existential
    for s in sc.visible:
        if sc.unique_visible(s["instrument"]) is s:
            cover = sc.playing(s) / sc.duration
            if cover >= ALWAYS_COVER or cover <= NOT_ALWAYS:
                add(14, (s["instrument"],), _yn(cover >= ALWAYS_COVER))
    add(15, (), _yn(meta["voiceover"]["present"]))
    if sc.sounding:
        add(16, (), _yn(not sc.offscreen))
    # Audio-Visual / Counting
    for c in visible:
        add(17, (c,), number_word(sum(s["instrument"] == c for s in sc.sounding)))
    add(18, (), number_word(len(sounding)))
    add(19, (), number_word(len(sc.sounding)))
    add(20, (), number_word(len(sc.visible) - len(sc.sounding)))
    # Audio-Visual / Location
    for s in sc.heard:
        if sc.unique_heard(s["instrument"]) is s:
            ov = [(sc.overlap(s, o), o) for o in sc.heard if o is not s]
            with_s = [o for v, o in ov if v >= OVERLAP_S]
            if len(with_s) == 1 and all(v < NO_OVERLAP_S for v, o in ov if o is not with_s[0]):
                add(21, (s["instrument"],), with_s[0]["instrument"])
    loud = sorted(sc.heard, key=lambda s: -s["loudness_db"])
    if len(loud) >= 2 and loud[0]["loudness_db"] - loud[1]["loudness_db"] >= LOUD_DB \
            and loud[0]["visible"] and sc.at(loud[0]["position"]) is loud[0]:
        add(22, ("loudest",), loud[0]["position"])
    if len(sc.heard) >= 2 and all(s["register"] is not None for s in sc.heard):
        low = sorted(sc.heard, key=sc.pitch)
        if sc.pitch(low[1]) - sc.pitch(low[0]) >= LOW_SEMITONES and low[0]["visible"] \
                and sc.at(low[0]["position"]) is low[0]:
            add(22, ("lowest",), low[0]["position"])
    for fl in ("first", "last"):
        target = sc.ordered_entry(fl)
        if target is None:
            continue
        for pos in ("left", "middle", "right"):
            s = sc.at(pos)
            if s is not None:
                add(23, (fl, pos), _yn(s is target))
        if target["visible"] and sc.at(target["position"]) is target:
            add(30, (fl,), target["position"])
            for side in ("left", "right"):
                n = sc.neighbour(target, side)
                if n is not None:
                    add(24, (side, fl), n["instrument"])
    # Audio-Visual / Comparative
    for i, j, value, margin, ratio in ((25, 27, lambda s: s["loudness_db"], LOUD_DB, False),
                                       (26, 28, sc.rate, RHYTHM_RATIO, True)):
        for ((p, a), (q, b)) in _pos_pairs(sc):
            for a2, b2, yes in _compare([(a, b)], value, margin, ratio):
                add(i, (p, q), _yn(yes))
                add(j, (a["instrument"], p, b["instrument"], q), _yn(yes))
    # Audio-Visual / Temporal
    order = sorted(sc.heard, key=sc.entry)
    for k, s in enumerate(order[:5]):
        gaps = [abs(sc.entry(s) - sc.entry(o)) for o in order if o is not s]
        if len(order) >= 2 and min(gaps) >= sc.entry_gap:
            add(29, (("first", "second", "third", "fourth", "fifth")[k],), s["instrument"])
    for k, s in enumerate(order):
        if sc.unique_heard(s["instrument"]) is not s:
            continue
        for ba, n in (("before", order[k - 1] if k > 0 else None),
                      ("after", order[k + 1] if k + 1 < len(order) else None)):
            if n is None or abs(sc.entry(n) - sc.entry(s)) < sc.entry_gap:
                continue
            rivals = [o for o in order if o is not n and o is not s
                      and abs(sc.entry(o) - sc.entry(n)) < sc.entry_gap]
            if not rivals:
                add(31, (ba, s["instrument"]), n["instrument"])
    for c in sounding:
        same = sorted((s for s in sc.sounding if s["instrument"] == c), key=sc.entry)
        if len(same) < 2 or len({s["position"] for s in same}) < len(same):
            continue
        for fl, (a, b) in (("first", (same[0], same[1])), ("last", (same[-1], same[-2]))):
            gap = abs(sc.entry(a) - sc.entry(b))
            if gap < SAME_S and len(same) == 2:
                add(32, (c, fl), "simultaneously")
            elif gap >= sc.entry_gap:
                add(32, (c, fl), a["position"])
    return out


MEANINGS = {
    T[0]: "yes iff both instruments are heard (on or off screen)",
    T[1]: "yes iff the instrument is heard (a visible but silent one is not heard)",
    T[2]: "number of heard sources, on or off screen (voice-over excluded)",
    T[3]: "yes iff the first is louder (RMS while playing) by >= 6 dB; asked only with that margin, "
          "each class heard from one source",
    T[4]: "yes iff the first has >= 1.5x the note onsets per second of playing time",
    T[5]: "yes iff the first plays >= 1 s longer in total",
    T[6]: "yes iff the instrument is on screen (sounding or not; off-screen sounds do not count)",
    T[7]: "yes iff both instruments are on screen",
    T[8]: "number of on-screen instruments of that class (zero when absent)",
    T[9]: "number of distinct classes on screen",
    T[10]: "class of the nearest on-screen instrument on that side of the (unique) named one",
    T[11]: "the background: indoor (room with wooden floor) or outdoor (sky and grass)",
    T[12]: "class of the leftmost / rightmost on-screen instrument (asked with >= 2 on screen)",
    T[13]: "the class, asked when every on-screen instrument has the same class",
    T[14]: "yes iff the (unique) instrument plays >= 97% of the clip; no when <= 80%",
    T[15]: "yes iff there is a speech-like voice-over",
    T[16]: "yes iff every heard source is on screen; no when some heard source is off screen",
    T[17]: "number of on-screen instruments of that class that sound (zero when all are silent)",
    T[18]: "number of distinct classes among sounding on-screen instruments",
    T[19]: "number of sounding on-screen instruments",
    T[20]: "number of on-screen instruments that never sound",
    T[21]: "the only other source overlapping it by >= 1 s (all others overlap < 0.25 s)",
    T[22]: "position of the loudest (>= 6 dB above the rest) / lowest-pitched (>= 7 semitones below "
           "the rest) heard source, when it is on screen and alone at its position",
    T[23]: "yes iff the first/last-entering source (entries >= max(0.5 s, duration/8) apart) is the "
           "one at that position",
    T[24]: "class of the on-screen neighbour on that side of the first/last-entering instrument",
    T[25]: "yes iff the instrument at the first position is louder by >= 6 dB",
    T[26]: "yes iff the instrument at the first position has >= 1.5x the onsets per second",
    T[27]: "as the previous loudness template, with the classes named",
    T[28]: "as the previous rhythm template, with the classes named",
    T[29]: "class of the k-th heard source to enter (entries >= max(0.5 s, duration/8) from every other)",
    T[30]: "position of the first/last-entering source, when on screen",
    T[31]: "class of the source entering just before/after the named one (>= max(0.5 s, duration/8) apart, no rival)",
    T[32]: "position of the first/last-entering of several sounding instruments of that class; "
           "'simultaneously' when two enter together (< 0.05 s)",
}
assert len(MEANINGS) == 33


def _cap(template: str) -> float:
    return CAP_YES_NO if template.startswith(("Is ", "Are ")) else CAP


def select(per_video: list[list[tuple]], per_video_q: int, balanced: bool,
           rngs: list[np.random.Generator]) -> list[list[tuple]]:
    """Pick up to per_video_q questions per video, at most one per template.

    Balanced: templates asked least so far come first, and among a template's candidates the
    answer given least so far wins; then, per template, the newest questions with the most common
    answer are dropped until it holds at most 50% (60% yes/no) of that template's questions.
    """
    asked = Counter()
    answers = defaultdict(Counter)
    chosen = []
    for cands, rng in zip(per_video, rngs):
        by_t = defaultdict(list)
        for c in cands:
            by_t[c[0]].append(c)
        order = list(by_t)
        rng.shuffle(order)
        if balanced:
            order.sort(key=lambda t: asked[t])
        picks = []
        for t in order[:per_video_q]:
            opts = by_t[t]
            if balanced:
                least = min(answers[t][c[2]] for c in opts)
                opts = [c for c in opts if answers[t][c[2]] == least]
            c = opts[int(rng.integers(len(opts)))]
            picks.append(c)
            asked[t] += 1
            answers[t][c[2]] += 1
        chosen.append(sorted(picks))
    if balanced:
        _enforce_caps(chosen)
    return chosen


def _enforce_caps(chosen: list[list[tuple]]) -> None:
    by_t = defaultdict(list)
    for v, picks in enumerate(chosen):
        for c in picks:
            by_t[c[0]].append((v, c))
    drop = set()
    for t, items in by_t.items():
        remaining = list(items)
        while remaining:
            top, n = Counter(c[2] for _, c in remaining).most_common(1)[0]
            if n <= _cap(T[t]) * len(remaining):
                break
            newest = max(i for i, (_, c) in enumerate(remaining) if c[2] == top)
            drop.add(remaining.pop(newest))
    for v, picks in enumerate(chosen):
        picks[:] = [c for c in picks if (v, c) not in drop]
