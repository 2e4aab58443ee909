"""The 33 MUSIC-AVQA templates: what each means here, its answer from the ground truth, balancing.

A template is asked only when its answer is unambiguous with a perceptible margin (constants
below). TABLE gives each template's type and the function answering it; each meaning is one
docstring-like line in MEANINGS, which the dataset card prints.
Words used throughout:
  heard     = a sound source that plays (on screen or off screen; the voice-over is not a source)
  visible   = an instrument on screen (sounding, silent, or mimed: seen playing, not heard)
  sounding  = visible and heard (a mime is visible, not sounding)
  entry     = the start of a source's first playing interval; entries are ordered only when
              max(0.5 s, duration / 8) apart, so 8 evenly sampled frames see them apart
  louder    = higher RMS level while playing (`loudness_db`), by >= LOUD_DB
  rhythmic  = more note onsets per second of its own playing time, by a ratio >= RHYTHM_RATIO
  lowest    = lowest mean pitch (pitched sources only), by >= LOW_SEMITONES
  position  = the performer's third of the frame; in the stage world None where it is ambiguous (near a
              third's edge at some moment), and a third is named only when no ambiguous performer comes
              near it; left/right order needs screen centres ORDER_MARGIN apart
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np

from amuse_cli.data.taxonomy import INSTRUMENTS, TEMPLATE_IDS, TEMPLATES_RAW, number_word

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
ORDER_MARGIN = 0.05    # stage world: screen centres closer than this are not ordered left/right
THIRDS = {"left": (0.0, 1 / 3), "middle": (1 / 3, 2 / 3), "right": (2 / 3, 1.0)}
POSITION_MARGIN = 0.03
CAP = 0.5              # balanced: no answer above 50% of a template's questions ...
CAP_YES_NO = 0.6       # ... or 60% for yes/no templates (MUSIC-AVQA v2.0)

T = [t for t, _, _ in TEMPLATES_RAW]     # T[i]: template i exactly as in the released files
POSITIONS = ("left", "middle", "right")


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
        self.read_from_frames = any("x_span" in s for s in self.visible)    # stage world: margins apply

    @staticmethod
    def entry(s):
        return s["intervals"][0][0]

    @staticmethod
    def loudness(s):
        return s["loudness_db"]

    @staticmethod
    def playing(s):
        return sum(e - b for b, e in s["intervals"])

    @classmethod
    def rate(cls, s):
        """Onsets per second of playing time (a chord's notes share one onset)."""
        return len({n["t"] for n in s["notes"]}) / max(cls.playing(s), 1e-6)

    @staticmethod
    def pitch(s):
        return None if s["register"] is None else float(np.mean([n["pitch"] for n in s["notes"]]))

    def at(self, pos):
        """The only visible source at screen position pos, else None (also when a performer whose
        position is ambiguous comes near that third)."""
        here = [s for s in self.visible if s["position"] == pos]
        if self.read_from_frames:
            lo, hi = THIRDS[pos]
            if any(s["position"] is None and s["x_span"][1] > lo - POSITION_MARGIN
                   and s["x_span"][0] < hi + POSITION_MARGIN for s in self.visible):
                return None
        return here[0] if len(here) == 1 else None

    def placed(self, s):
        """Whether s is on screen and alone at its position (so a position names it)."""
        return s["visible"] and s["position"] is not None and self.at(s["position"]) is s

    def apart(self, a, b) -> bool:
        """Whether two performers' left/right order can be read from the frames."""
        return not self.read_from_frames or abs(a["x"] - b["x"]) >= ORDER_MARGIN

    def unique_heard(self, cls):
        here = [s for s in self.heard if s["instrument"] == cls]
        return here[0] if len(here) == 1 else None

    def unique_visible(self, cls):
        here = [s for s in self.visible if s["instrument"] == cls]
        return here[0] if len(here) == 1 else None

    def neighbour(self, s, side):
        """Nearest visible instrument on `side` of s."""
        i = self.visible.index(s)
        j, k = (i - 1, i - 2) if side == "left" else (i + 1, i + 2)
        if not 0 <= j < len(self.visible) or not self.apart(s, self.visible[j]):
            return None
        if 0 <= k < len(self.visible) and not self.apart(self.visible[j], self.visible[k]):
            return None              # two performers about as near: which is "the" neighbour?
        return self.visible[j]

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


class Context(Scene):
    """A scene plus the instrument classes its questions name. The classes that make 'no' answers
    are drawn here, once, before any template asks: the RNG draws do not depend on TABLE."""

    def __init__(self, meta: dict, rng: np.random.Generator):
        super().__init__(meta)
        self.heard_classes = _classes(self.heard)
        self.visible_classes = _classes(self.visible)
        self.sounding_classes = _classes(self.sounding)
        silent = [c for c in self.visible_classes if c not in self.heard_classes]
        self.not_heard = _absent(rng, 2, self.heard_classes) + silent
        self.not_visible = _absent(rng, 2, self.visible_classes) + [
            c for c in _classes(self.offscreen) if c not in self.visible_classes]


# The answerers: one per template, each yielding (fillers, answer) for every question it can ask.

# Audio / Counting
def both_heard(sc):
    for c in sc.heard_classes:
        for d in sc.heard_classes + sc.not_heard:
            if d != c:
                yield (c, d), _yn(d in sc.heard_classes)
    for c in sc.not_heard[:2]:
        yield (c, sc.heard_classes[0]), "no"


def is_heard(sc):
    return _presence(sc.heard_classes, sc.not_heard)


def _presence(present, absent):
    """Is <class> ...? yes for each class that is, no for each drawn class that is not."""
    for c in present:
        yield (c,), "yes"
    for c in absent:
        yield (c,), "no"


def count_heard(sc):
    yield (), number_word(len(sc.heard))


# Audio / Comparative: each class heard from exactly one source
def louder(sc):
    return _by_class(sc, sc.loudness, LOUD_DB)


def more_rhythmic(sc):
    return _by_class(sc, sc.rate, RHYTHM_RATIO, ratio=True)


def plays_longer(sc):
    return _by_class(sc, sc.playing, LONGER_S)


def _by_class(sc, value, margin, ratio=False):
    lone = [s for s in sc.heard if sc.unique_heard(s["instrument"]) is s]
    for a, b, yes in _compare([(a, b) for a in lone for b in lone if a is not b], value, margin, ratio):
        yield (a["instrument"], b["instrument"]), _yn(yes)


# Visual / Counting
def is_visible(sc):
    return _presence(sc.visible_classes, sc.not_visible)


def count_visible_of_class(sc):
    for c in sc.visible_classes:
        yield (c,), number_word(sum(s["instrument"] == c for s in sc.visible))
    for c in sc.not_visible:
        yield (c,), "zero"


def both_visible(sc):
    for c in sc.visible_classes:
        for d in sc.visible_classes + sc.not_visible:
            if d != c:
                yield (c, d), _yn(d in sc.visible_classes)
    if sc.visible_classes:
        for c in sc.not_visible:
            yield (c, sc.visible_classes[0]), "no"


def count_visible_types(sc):
    yield (), number_word(len(sc.visible_classes))


# Visual / Location
def neighbour_of(sc):
    for s in sc.visible:
        if sc.unique_visible(s["instrument"]) is s:
            for side in ("left", "right"):
                n = sc.neighbour(s, side)
                if n is not None:
                    yield (side, s["instrument"]), n["instrument"]


def background(sc):
    yield (), sc.meta["background"]


def outermost(sc):
    if len(sc.visible) >= 2:
        if sc.apart(sc.visible[0], sc.visible[1]):
            yield ("leftest",), sc.visible[0]["instrument"]
        if sc.apart(sc.visible[-1], sc.visible[-2]):
            yield ("rightest",), sc.visible[-1]["instrument"]


def sole_class(sc):
    if len(sc.visible_classes) == 1:
        yield (), sc.visible_classes[0]


# Audio-Visual / Existential
def always_playing(sc):
    for s in sc.visible:
        if sc.unique_visible(s["instrument"]) is s:
            cover = sc.playing(s) / sc.duration
            if cover >= ALWAYS_COVER or cover <= NOT_ALWAYS:
                yield (s["instrument"],), _yn(cover >= ALWAYS_COVER)


def voiceover(sc):
    yield (), _yn(sc.meta["voiceover"]["present"])


def sound_on_screen(sc):
    if sc.sounding:
        yield (), _yn(not sc.offscreen)


# Audio-Visual / Counting
def count_sounding_of_class(sc):
    for c in sc.visible_classes:
        yield (c,), number_word(sum(s["instrument"] == c for s in sc.sounding))


def count_sounding_types(sc):
    yield (), number_word(len(sc.sounding_classes))


def count_sounding(sc):
    yield (), number_word(len(sc.sounding))


def count_silent(sc):
    yield (), number_word(len(sc.visible) - len(sc.sounding))


# Audio-Visual / Location
def plays_along(sc):
    for s in sc.heard:
        if sc.unique_heard(s["instrument"]) is s:
            ov = [(sc.overlap(s, o), o) for o in sc.heard if o is not s]
            with_s = [o for v, o in ov if v >= OVERLAP_S]
            if len(with_s) == 1 and all(v < NO_OVERLAP_S for v, o in ov if o is not with_s[0]):
                yield (s["instrument"],), with_s[0]["instrument"]


def where_loudest_lowest(sc):
    loud = sorted(sc.heard, key=lambda s: -s["loudness_db"])
    if len(loud) >= 2 and loud[0]["loudness_db"] - loud[1]["loudness_db"] >= LOUD_DB and sc.placed(loud[0]):
        yield ("loudest",), loud[0]["position"]
    if len(sc.heard) >= 2 and all(s["register"] is not None for s in sc.heard):
        low = sorted(sc.heard, key=sc.pitch)
        if sc.pitch(low[1]) - sc.pitch(low[0]) >= LOW_SEMITONES and sc.placed(low[0]):
            yield ("lowest",), low[0]["position"]


def entry_from(sc):
    for fl in ("first", "last"):
        target = sc.ordered_entry(fl)
        if target is not None:
            for pos in POSITIONS:
                s = sc.at(pos)
                if s is not None:
                    yield (fl, pos), _yn(s is target)


def entry_neighbour(sc):
    for fl, target in _placed_entries(sc):
        for side in ("left", "right"):
            n = sc.neighbour(target, side)
            if n is not None:
                yield (side, fl), n["instrument"]


def _placed_entries(sc):
    """(first/last, source) for the ordered first/last entries that can be pointed at on screen."""
    for fl in ("first", "last"):
        target = sc.ordered_entry(fl)
        if target is not None and sc.placed(target):
            yield fl, target


# Audio-Visual / Comparative: the sounding instruments alone at their positions
def louder_at(sc):
    for (p, _), (q, _), yes in _by_position(sc, sc.loudness, LOUD_DB):
        yield (p, q), _yn(yes)


def more_rhythmic_at(sc):
    for (p, _), (q, _), yes in _by_position(sc, sc.rate, RHYTHM_RATIO, ratio=True):
        yield (p, q), _yn(yes)


def louder_named_at(sc):
    for (p, a), (q, b), yes in _by_position(sc, sc.loudness, LOUD_DB):
        yield (a["instrument"], p, b["instrument"], q), _yn(yes)


def more_rhythmic_named_at(sc):
    for (p, a), (q, b), yes in _by_position(sc, sc.rate, RHYTHM_RATIO, ratio=True):
        yield (a["instrument"], p, b["instrument"], q), _yn(yes)


def _by_position(sc, value, margin, ratio=False):
    spots = [(p, sc.at(p)) for p in POSITIONS]
    spots = [(p, s) for p, s in spots if s is not None and s["sounding"]]
    for p, a in spots:
        for q, b in spots:
            if p != q:
                for _, _, yes in _compare([(a, b)], value, margin, ratio):
                    yield (p, a), (q, b), yes


# Audio-Visual / Temporal
def nth_entry(sc):
    order = sorted(sc.heard, key=sc.entry)
    for k, s in enumerate(order[:5]):
        gaps = [abs(sc.entry(s) - sc.entry(o)) for o in order if o is not s]
        if len(order) >= 2 and min(gaps) >= sc.entry_gap:
            yield (("first", "second", "third", "fourth", "fifth")[k],), s["instrument"]


def where_entry(sc):
    for fl, target in _placed_entries(sc):
        yield (fl,), target["position"]


def entry_before_after(sc):
    order = sorted(sc.heard, key=sc.entry)
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
                yield (ba, s["instrument"]), n["instrument"]


def class_entry(sc):
    for c in sc.sounding_classes:
        same = sorted((s for s in sc.sounding if s["instrument"] == c), key=sc.entry)
        if len(same) < 2 or len({s["position"] for s in same}) < len(same) or any(s["position"] is None for s in same):
            continue
        for fl, (a, b) in (("first", (same[0], same[1])), ("last", (same[-1], same[-2]))):
            gap = abs(sc.entry(a) - sc.entry(b))
            if gap < SAME_S and len(same) == 2:
                yield (c, fl), "simultaneously"
            elif gap >= sc.entry_gap:
                yield (c, fl), a["position"]


class Template(NamedTuple):
    """A template's answerer, type column (taxonomy.type_column) and text (taxonomy.TEMPLATES'
    normalized form; the released spelling is T[index])."""
    ask: Callable[[Context], Iterable[tuple[tuple, str]]]
    column: str
    text: str

    @property
    def name(self) -> str:
        return self.ask.__name__

    @property
    def index(self) -> int:
        return TEMPLATE_IDS[self.text]


# Rows come in the generator's asking order (not index order: 8 before 7, 30 before 24, 27 before 26),
# which is part of the output: `select` shuffles a video's templates in the order their candidates
# come, so moving a row changes every generated set.
TABLE = tuple(Template(*row) for row in (
    (both_heard, "A-Count", "Are there <Object> and <Object> sound?"),
    (is_heard, "A-Count", "Is there a <Object> sound?"),
    (count_heard, "A-Count", "How many musical instruments were heard throughout the video?"),
    (louder, "A-Comp", "Is the <Object> louder than the <Object>?"),
    (more_rhythmic, "A-Comp", "Is the <Object> more rhythmic than the <Object>?"),
    (plays_longer, "A-Comp", "Is the <Object> playing longer than the <Object>?"),
    (is_visible, "V-Count", "Is there a <Object> in the entire video?"),
    (count_visible_of_class, "V-Count", "How many <Object> are in the entire video?"),
    (both_visible, "V-Count", "Are there <Object> and <Object> instruments in the video?"),
    (count_visible_types, "V-Count", "How many types of musical instruments appeared in the entire video?"),
    (neighbour_of, "V-Loc", "What is the instrument on the <LR> of <Object>?"),
    (background, "V-Loc", "Where is the performance?"),
    (outermost, "V-Loc", "What kind of instrument is the <LRer> instrument?"),
    (sole_class, "V-Loc", "What kind of musical instrument is it?"),
    (always_playing, "AV-Exist", "Is the <Object> in the video always playing?"),
    (voiceover, "AV-Exist", "Is there a voiceover?"),
    (sound_on_screen, "AV-Exist", "Is this sound from the instrument in the video?"),
    (count_sounding_of_class, "AV-Count", "How many sounding <Object> in the video?"),
    (count_sounding_types, "AV-Count", "How many types of musical instruments sound in the video?"),
    (count_sounding, "AV-Count", "How many instruments are sounding in the video?"),
    (count_silent, "AV-Count", "How many instruments in the video did not sound from beginning to end?"),
    (plays_along, "AV-Loc", "Which is the musical instrument that sounds at the same time as the <Object>?"),
    (where_loudest_lowest, "AV-Loc", "Where is the <LL> instrument?"),
    (entry_from, "AV-Loc", "Is the <FL> sound coming from the <LR> instrument?"),
    (where_entry, "AV-Temp", "Where is the <FL> sounding instrument?"),
    (entry_neighbour, "AV-Loc", "What is the <LR> instrument of the <FL> sounding instrument?"),
    (louder_at, "AV-Comp", "Is the instrument on the <LR> louder than the instrument on the <LR>?"),
    (louder_named_at, "AV-Comp", "Is the <Object> on the <LR> louder than the <Object> on the <LR>?"),
    (more_rhythmic_at, "AV-Comp", "Is the instrument on the <LR> more rhythmic than the instrument on the <LR>?"),
    (more_rhythmic_named_at, "AV-Comp", "Is the <Object> on the <LR> more rhythmic than the <Object> on the <LR>?"),
    (nth_entry, "AV-Temp", "What is the <TH> instrument that comes in?"),
    (entry_before_after, "AV-Temp", "Which instrument makes sounds <BA> the <Object>?"),
    (class_entry, "AV-Temp", "Which <Object> makes the sound <FL>?"),
))
assert sorted(t.index for t in TABLE) == list(range(len(T)))


def candidates(meta: dict, rng: np.random.Generator) -> list[tuple[int, tuple, str]]:
    """Every question this video can answer unambiguously: (template index, fillers, answer)."""
    sc = Context(meta, rng)
    return [(t.index, values, answer) for t in TABLE for values, answer in t.ask(sc)]


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
    T[11]: "the background: indoor or outdoor (stage world: the setting's kind; classic: a room with a "
           "wooden floor or sky and grass)",
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
