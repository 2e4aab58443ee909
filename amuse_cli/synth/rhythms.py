"""The rhythm figures performance.py plays: per (meter, notes per beat) a table of one-cell patterns.

A cell is one bar (two bars for half density in 3/4, so the count stays whole). The first melodic
pattern of each entry is straight (evenly spaced onsets): it fills cells an interval only partly
covers, so a short entry keeps its density's rate. Every pattern of a
(meter, density) entry has exactly `density * span` onsets, so a density is an onset rate whatever
figure is drawn: the figures differ in *where* the onsets fall (straight, dotted, syncopated, with
rests), never in how many there are. Onsets sit on the beat or on its halves and quarters.

Melodic patterns are (onset, notated length) in beats, a gap before the next onset being a rest.
Drum and conga grooves are (onset, GM keys struck together, velocity) on the GM percussion kit.
"""
from __future__ import annotations

# GM percussion keys (General MIDI level 1, channel 10)
KICK, SNARE, HAT, OPEN_HAT, CRASH, RIDE = 36, 38, 42, 46, 49, 51
TOM_LOW, TOM_MID, TOM_HIGH = 45, 47, 50
CONGA_MUTE_HIGH, CONGA_OPEN_HIGH, CONGA_LOW = 62, 63, 64

MELODIC = {   # (meter, notes per beat) -> (span in beats, patterns)
    (4, 1.0): (4, (
        ((0, 1), (1, 1), (2, 1), (3, 1)),                        # straight quarters
        ((0, 1.5), (1.5, .5), (2, 1), (3, 1)),                   # dotted quarter + eighth
        ((0, 1), (1, 1), (2, 1.5), (3.5, .5)),                   # pickup into the next bar
        ((0, .5), (.5, .5), (1, 2), (3, 1)),
        ((0, 1), (1.5, 1), (2.5, .5), (3, 1)),                   # rest on beat 2, syncopation
        ((0, .75), (.75, .25), (1, 2), (3, 1)),                  # dotted eighth + sixteenth
        ((0, 2), (2, .5), (2.5, .5), (3, 1)),
        ((0, 1), (1, .5), (2, 1), (3, 1)),                       # eighth rest after beat 2
        ((0, 1), (2, .5), (2.5, .5), (3, .5)),                   # rest on beat 2 and at the end
    )),
    (4, 0.5): (4, (
        ((0, 2), (2, 2)), ((0, 3), (3, 1)), ((0, 1.5), (1.5, 2.5)), ((0, 1), (2, 2)),
        ((0, 2), (2, 1)), ((0, 1), (1, 3)), ((0, 2.5), (2.5, 1.5)),
    )),
    (4, 2.0): (4, (
        ((0, .5), (.5, .5), (1, .5), (1.5, .5), (2, .5), (2.5, .5), (3, .5), (3.5, .5)),
        ((0, .75), (.75, .25), (1, .5), (1.5, .5), (2, .75), (2.75, .25), (3, .5), (3.5, .5)),
        ((0, .5), (.5, .5), (1, 1), (2, .25), (2.25, .25), (2.5, .5), (3, .5), (3.5, .5)),
        ((0, .5), (.5, 1), (1.5, .5), (2, .5), (2.5, .5), (3, .25), (3.25, .25), (3.5, .5)),
        ((0, .25), (.25, .25), (.5, .5), (1, .5), (1.5, .5), (2, 1), (3, .5), (3.5, .5)),
        ((0, .5), (.5, .5), (1, .5), (1.5, .5), (2, .5), (3, .25), (3.25, .25), (3.5, .5)),
        ((0, 1), (1, .5), (1.5, .5), (2, .25), (2.25, .25), (2.5, .5), (3, .5), (3.5, .5)),
    )),
    (3, 1.0): (3, (
        ((0, 1), (1, 1), (2, 1)), ((0, 2), (2, .5), (2.5, .5)), ((0, 1.5), (1.5, .5), (2, 1)),
        ((0, 1), (1.5, .5), (2, 1)), ((0, .75), (.75, .25), (1, 2)),
    )),
    (3, 0.5): (6, (
        ((0, 2), (2, 2), (4, 2)), ((0, 3), (3, 2), (5, 1)), ((0, 2), (2, 1), (3, 3)), ((0, 1.5), (1.5, 1.5), (3, 3)),
        ((0, 2), (3, 2), (5, 1)), ((0, 3), (3, 1), (4, 2)),
    )),
    (3, 2.0): (3, (
        ((0, .5), (.5, .5), (1, .5), (1.5, .5), (2, .5), (2.5, .5)),
        ((0, .75), (.75, .25), (1, .5), (1.5, .5), (2, .5), (2.5, .5)),
        ((0, 1), (1, .25), (1.25, .25), (1.5, .5), (2, .5), (2.5, .5)),
        ((0, .5), (.5, 1), (1.5, .25), (1.75, .25), (2, .5), (2.5, .5)),
    )),
}


def _eighths(span, accents, hat=HAT):
    """Hi-hat (or ride) on every eighth, with the kit's backbeat on the beats given as {beat: keys}."""
    out = []
    for k in range(2 * span):
        beat = k / 2
        keys = accents.get(beat, ())
        out.append((beat, tuple(keys) + (hat,), .95 if keys else .55))
    return tuple(out)


DRUMS = {     # (meter, notes per beat) -> (span, grooves); kick and snare carry the accents
    (4, 2.0): (4, (
        _eighths(4, {0: (KICK,), 1: (SNARE,), 2: (KICK,), 3: (SNARE,)}),                   # rock
        _eighths(4, {0: (KICK,), 1: (SNARE,), 1.5: (KICK,), 2: (KICK,), 3: (SNARE,)}),     # pushed kick
        _eighths(4, {0: (KICK,), 1: (SNARE,), 2.5: (KICK,), 3: (SNARE,)}, RIDE),
    )),
    (4, 1.0): (4, (
        ((0, (KICK, HAT), 1.0), (1, (SNARE, HAT), .9), (2, (KICK, HAT), .92), (3, (SNARE, HAT), .9)),
        ((0, (KICK, RIDE), 1.0), (1, (SNARE, RIDE), .9), (2, (KICK, RIDE), .92), (3, (SNARE, RIDE), .9)),
        ((0, (KICK, HAT), 1.0), (1, (HAT,), .7), (2, (SNARE, HAT), .95), (3, (HAT,), .7)),  # half time
    )),
    (4, 0.5): (4, (
        ((0, (KICK, HAT), 1.0), (2, (SNARE, HAT), .9)),
        ((0, (KICK, RIDE), 1.0), (2, (SNARE, RIDE), .9)),
        ((0, (KICK, OPEN_HAT), 1.0), (2, (KICK, SNARE, HAT), .9)),
    )),
    (3, 2.0): (3, (
        _eighths(3, {0: (KICK,), 1: (SNARE,), 2: (SNARE,)}),
        _eighths(3, {0: (KICK,), 2: (SNARE,)}, RIDE),
    )),
    (3, 1.0): (3, (
        ((0, (KICK, HAT), 1.0), (1, (SNARE, HAT), .8), (2, (SNARE, HAT), .8)),
        ((0, (KICK, RIDE), 1.0), (1, (RIDE,), .7), (2, (SNARE, RIDE), .85)),
    )),
    (3, 0.5): (6, (
        ((0, (KICK, HAT), 1.0), (2, (SNARE, HAT), .85), (4, (SNARE, HAT), .85)),
        ((0, (KICK, RIDE), 1.0), (2, (SNARE, RIDE), .85), (4, (KICK, RIDE), .9)),
    )),
}

CONGAS = {    # tumbao-like figures: open tones on the strong beats, muted slaps between
    (4, 2.0): (4, (
        ((0, (CONGA_OPEN_HIGH,), 1.0), (.5, (CONGA_MUTE_HIGH,), .5), (1, (CONGA_MUTE_HIGH,), .8),
         (1.5, (CONGA_MUTE_HIGH,), .5), (2, (CONGA_OPEN_HIGH,), .9), (2.5, (CONGA_MUTE_HIGH,), .5),
         (3, (CONGA_LOW,), .95), (3.5, (CONGA_LOW,), .8)),
        ((0, (CONGA_LOW,), 1.0), (.5, (CONGA_MUTE_HIGH,), .5), (1, (CONGA_OPEN_HIGH,), .85),
         (1.5, (CONGA_MUTE_HIGH,), .5), (2, (CONGA_LOW,), .9), (2.5, (CONGA_MUTE_HIGH,), .5),
         (3, (CONGA_OPEN_HIGH,), .9), (3.5, (CONGA_OPEN_HIGH,), .75)),
    )),
    (4, 1.0): (4, (
        ((0, (CONGA_LOW,), 1.0), (1, (CONGA_MUTE_HIGH,), .7), (2, (CONGA_OPEN_HIGH,), .9), (3, (CONGA_OPEN_HIGH,), .8)),
        ((0, (CONGA_OPEN_HIGH,), 1.0), (1, (CONGA_MUTE_HIGH,), .7), (2, (CONGA_LOW,), .9), (3, (CONGA_MUTE_HIGH,), .7)),
    )),
    (4, 0.5): (4, (
        ((0, (CONGA_LOW,), 1.0), (2, (CONGA_OPEN_HIGH,), .9)),
        ((0, (CONGA_OPEN_HIGH,), 1.0), (2, (CONGA_LOW,), .9)),
    )),
    (3, 2.0): (3, (
        ((0, (CONGA_LOW,), 1.0), (.5, (CONGA_MUTE_HIGH,), .5), (1, (CONGA_OPEN_HIGH,), .8),
         (1.5, (CONGA_MUTE_HIGH,), .5), (2, (CONGA_OPEN_HIGH,), .8), (2.5, (CONGA_MUTE_HIGH,), .5)),
    )),
    (3, 1.0): (3, (
        ((0, (CONGA_LOW,), 1.0), (1, (CONGA_MUTE_HIGH,), .7), (2, (CONGA_OPEN_HIGH,), .8)),
    )),
    (3, 0.5): (6, (
        ((0, (CONGA_LOW,), 1.0), (2, (CONGA_OPEN_HIGH,), .8), (4, (CONGA_MUTE_HIGH,), .75)),
    )),
}


def drum_fill(groove: tuple) -> tuple:
    """The last bar of a phrase: the final two strokes move to the toms (same onsets, so same rate)."""
    *head, a, b = groove
    return (*head, (a[0], (TOM_HIGH,), .85), (b[0], (TOM_LOW, SNARE) if b[0] % 1 == 0 else (TOM_LOW,), .95))


def crash(groove: tuple) -> tuple:
    """The first bar of a phrase: a crash cymbal on the downbeat instead of the hat or ride."""
    (t, keys, v), *rest = groove
    return ((t, tuple(k for k in keys if k not in (HAT, RIDE, OPEN_HAT)) + (CRASH,), v), *rest)


def _check() -> None:
    """Every table keeps its promise: density * span onsets, increasing, on quarter-beat positions."""
    for table in (MELODIC, DRUMS, CONGAS):
        for (meter, density), (span, patterns) in table.items():
            for p in patterns:
                onsets = [e[0] for e in p]
                assert len(onsets) == density * span and onsets[0] == 0, (meter, density, p)
                assert all(a < b for a, b in zip(onsets, onsets[1:])) and onsets[-1] < span, p
                assert all((4 * o) % 1 == 0 for o in onsets), p
                if table is MELODIC:
                    assert all(o + n <= nxt + 1e-9 for (o, n), nxt in zip(p, onsets[1:] + [span])), p


_check()
