"""Performers of the stage world: a figure holding an instrument, drawn in any of POSES poses.

A class is told by its instrument's silhouette and parts (a guitar's waisted body and neck, a tuba's
round bell, a piano's keyboard), never by a colour: every performer draws its materials, clothes, skin
and hair from palettes shared by all 22 classes. Playing never shows in one frame: a performer holds its
instrument the same way whether it plays or not, and a pose is one point of the class's playing motion
(bow along the strings, strumming hand, sticks and mallets up or down, bellows in or out, the breath of a
wind player). Playing shows only across frames, as the pose moves with the notes (stage_video.py); a
silent performer keeps one pose, drawn from the same range.

Geometry is in unit coordinates of boxes (x right, y down): the sprite box for the figure, INSTRUMENT_BOX
inside it for the instrument. Primitives as in looks.py; colours are roles filled from the palette.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amuse_cli.synth.looks import Canvas

POSES = 6                                  # pose sprites per performer: 0 .. POSES-1 along the motion
SPRITE_ASPECT = 0.62                       # sprite width / height
INSTRUMENT_BOX = (0.04, 0.27, 0.96, 0.92)  # sprite units: where the instrument sits on the figure

SKINS = ((255, 219, 180), (234, 192, 150), (210, 160, 120), (175, 120, 80), (140, 95, 60), (100, 65, 40),
         (235, 200, 170), (190, 140, 100))
HAIRS = ((20, 15, 10), (60, 40, 25), (110, 70, 35), (200, 170, 100), (150, 150, 150), (140, 50, 20),
         (235, 235, 230))
# Instrument materials shared by every class: woods, lacquers, metals, plastics.
BODIES = ((222, 184, 135), (205, 150, 80), (160, 90, 45), (110, 55, 30), (70, 40, 25), (35, 30, 30),
          (180, 30, 35), (20, 20, 20), (240, 238, 230), (40, 70, 150), (30, 110, 70), (200, 160, 40),
          (230, 200, 90), (190, 190, 200), (180, 110, 70), (120, 120, 130), (150, 40, 110), (90, 160, 190))
DARKS = ((20, 20, 20), (50, 30, 20), (40, 40, 50), (25, 30, 60), (60, 55, 50))
LIGHTS = ((245, 245, 240), (235, 225, 200), (215, 215, 215), (250, 240, 210), (225, 210, 180))
METALS = ((200, 165, 60), (190, 190, 200), (225, 190, 90), (180, 110, 70), (110, 110, 120))
ROLES = ("body", "dark", "light", "metal", "trim")

# Instrument parts: (primitive, role), in INSTRUMENT_BOX units. A primitive's index is its place in the list.
SHAPES = {
    "accordion": [(("rect", .08, .2, .3, .8), "body"), (("rect", .3, .24, .62, .76), "trim"),
                  (("stripes", .3, .26, .62, .74, 6), "light"), (("rect", .62, .2, .84, .8), "body"),
                  (("rect", .66, .3, .8, .7), "light")],
    "acoustic_guitar": [(("ell", .5, .72, .36, .25), "body"), (("ell", .5, .45, .27, .2), "body"),
                        (("ell", .5, .55, .08, .06), "dark"), (("rect", .45, 0, .55, .35), "dark")],
    "bagpipe": [(("ell", .45, .62, .36, .3), "body"), (("stripes", .2, .45, .7, .8, 3), "trim"),
                (("line", .3, .5, .2, .0, .05), "dark"), (("line", .5, .45, .5, .0, .05), "dark"),
                (("line", .65, .5, .85, .05, .05), "dark"), (("line", .45, .8, .45, 1, .05), "dark")],
    "banjo": [(("rect", .46, 0, .54, .45), "dark"), (("ell", .5, .66, .36, .3), "body"),
              (("ell", .5, .66, .3, .25), "light")],
    "bassoon": [(("rect", .4, 0, .6, 1), "body"), (("stripes", .42, .2, .58, .8, 3), "trim"),
                (("line", .5, .05, .2, .2, .04), "metal")],
    "cello": [(("ell", .5, .36, .3, .22), "body"), (("ell", .5, .72, .38, .27), "body"),
              (("rect", .46, 0, .54, .62), "dark"), (("line", .5, .95, .5, 1, .03), "metal"),
              (("line", .0, .62, .7, .5, .025), "light")],
    "clarinet": [(("rect", .44, .03, .56, .85), "body"), (("tri", .5, .7, .3, 1, .7, 1), "body"),
                 (("stripes", .44, .2, .56, .7, 4), "metal")],
    "congas": [(("rect", .08, .3, .46, 1), "body"), (("rect", .54, .4, .92, 1), "body"),
               (("ell", .27, .3, .19, .06), "light"), (("ell", .73, .4, .19, .06), "light")],
    "drum": [(("rect", .1, .45, .9, .92), "body"), (("ell", .5, .45, .4, .1), "light"),
             (("rect", .1, .62, .9, .66), "metal"), (("line", .2, .05, .42, .36, .04), "dark"),
             (("line", .8, .05, .58, .36, .04), "dark")],
    "electric_bass": [(("ell", .5, .72, .3, .22), "body"), (("tri", .2, .7, .3, .35, .45, .6), "body"),
                      (("rect", .46, 0, .54, .65), "dark"), (("rect", .4, .7, .6, .74), "metal")],
    "erhu": [(("rect", .45, 0, .55, .9), "dark"), (("rect", .3, .7, .7, .97), "body"),
             (("line", .0, .82, .75, .66, .03), "light")],
    "flute": [(("rect", 0, .36, 1, .46), "body"), (("stripes", .2, .38, .8, .44, 5), "dark")],
    "guzheng": [(("tri", 0, .35, 1, .62, 1, .95), "body"), (("tri", 0, .35, 0, .62, 1, .95), "body"),
                (("line", 0, .45, 1, .75, .03), "light"), (("line", 0, .53, 1, .85, .03), "light"),
                (("rect", .82, .7, 1, .97), "trim")],
    "piano": [(("rect", 0, .3, 1, .88), "body"), (("rect", .03, .55, .97, .72), "light"),
              (("stripes", .05, .55, .95, .63, 8), "dark"), (("rect", .05, .88, .12, 1), "body"),
              (("rect", .88, .88, .95, 1), "body")],
    "pipa": [(("ell", .5, .68, .3, .3), "body"), (("tri", .38, .5, .62, .5, .5, .02), "body"),
             (("rect", .45, 0, .55, .1), "dark"), (("rect", .44, .36, .56, .39), "light")],
    "saxophone": [(("rect", .33, .05, .5, .78), "body"), (("ell", .52, .8, .22, .13), "body"),
                  (("ell", .7, .6, .13, .16), "body"), (("ell", .7, .56, .08, .08), "dark"),
                  (("stripes", .35, .2, .48, .6, 3), "trim")],
    "suona": [(("rect", .44, 0, .56, .6), "body"), (("tri", .5, .45, .15, 1, .85, 1), "metal"),
              (("ell", .5, 1, .35, .06), "trim")],
    "trumpet": [(("rect", .02, .4, .7, .5), "body"), (("tri", .65, .45, 1, .2, 1, .7), "body"),
                (("rect", .3, .28, .45, .42), "body"), (("rect", .32, .22, .43, .28), "trim")],
    "tuba": [(("ell", .5, .62, .42, .36), "body"), (("ell", .5, .62, .2, .17), "dark"),
             (("ell", .62, .12, .3, .12), "body"), (("rect", .55, .12, .7, .4), "body")],
    "ukulele": [(("ell", .5, .76, .24, .17), "body"), (("ell", .5, .58, .18, .13), "body"),
                (("rect", .46, .25, .54, .5), "dark"), (("ell", .5, .66, .05, .04), "dark")],
    "violin": [(("ell", .35, .3, .2, .13), "body"), (("ell", .35, .5, .24, .15), "body"),
               (("rect", .32, 0, .38, .4), "dark"), (("line", 0, .75, .75, .3, .03), "light")],
    "xylophone": [(("rect", 0, .55, 1, .95), "dark")] + [
        (("rect", .04 + i * .16, .4 + i * .03, .15 + i * .16, .9 - i * .03), "body") for i in range(6)] + [
        (("line", .25, .0, .35, .3, .03), "dark"), (("line", .75, .0, .65, .3, .03), "dark")],
}


@dataclass(frozen=True)
class Motion:
    """How a class plays, as a pose from 0 to 1: each hand moves from its first to its second point,
    `move` parts are shifted by `shift` times the pose, `stretch` parts grow to the right by that many
    box widths (bellows), and `breathe` lifts the instrument, hands and chest (wind players)."""
    hands: tuple            # ((x, y) at pose 0, (x, y) at pose 1) per hand, instrument-box units
    move: tuple = ()
    shift: tuple = (0.0, 0.0)
    stretch: tuple = ()
    widen: float = 0.0
    breathe: float = 0.0


def _still(x, y):
    return ((x, y), (x, y))


MOTIONS = {
    "accordion": Motion(hands=(_still(.12, .5), ((.74, .5), (.9, .5))), move=(3, 4), shift=(.16, 0),
                        stretch=(1, 2), widen=.16),
    "acoustic_guitar": Motion(hands=(_still(.5, .08), ((.64, .48), (.64, .72)))),
    "bagpipe": Motion(hands=(_still(.4, .82), _still(.5, .92)), breathe=.09),
    "banjo": Motion(hands=(_still(.5, .1), ((.62, .55), (.62, .8)))),
    "bassoon": Motion(hands=(_still(.5, .3), _still(.5, .7)), breathe=.09),
    "cello": Motion(hands=(_still(.5, .12), ((.05, .61), (.4, .56))), move=(4,), shift=(.35, -.06)),
    "clarinet": Motion(hands=(_still(.5, .3), _still(.5, .6)), breathe=.09),
    "congas": Motion(hands=(((.27, .08), (.27, .26)), ((.73, .28), (.73, .1)))),
    "drum": Motion(hands=(((.2, .05), (.26, .2)), ((.8, .2), (.74, .05))), move=(3,), shift=(.06, .15)),
    "electric_bass": Motion(hands=(_still(.5, .1), ((.58, .62), (.58, .84)))),
    "erhu": Motion(hands=(_still(.5, .2), ((.04, .81), (.4, .74))), move=(2,), shift=(.36, -.07)),
    "flute": Motion(hands=(_still(.3, .41), _still(.62, .41)), breathe=.09),
    "guzheng": Motion(hands=(_still(.3, .56), ((.56, .66), (.78, .78)))),
    "piano": Motion(hands=(((.15, .58), (.35, .58)), ((.6, .58), (.85, .58)))),
    "pipa": Motion(hands=(_still(.5, .15), ((.58, .6), (.58, .85)))),
    "saxophone": Motion(hands=(_still(.42, .3), _still(.42, .6)), breathe=.09),
    "suona": Motion(hands=(_still(.5, .15), _still(.5, .4)), breathe=.09),
    "trumpet": Motion(hands=(_still(.2, .47), _still(.37, .3)), breathe=.09),
    "tuba": Motion(hands=(_still(.3, .6), _still(.6, .45)), breathe=.09),
    "ukulele": Motion(hands=(_still(.5, .3), ((.6, .6), (.6, .8)))),
    "violin": Motion(hands=(_still(.35, .05), ((.05, .73), (.4, .52))), move=(3,), shift=(.35, -.21)),
    "xylophone": Motion(hands=(((.25, .0), (.27, .14)), ((.75, .14), (.73, .0))), move=(7,), shift=(.02, .14)),
}
assert set(MOTIONS) == set(SHAPES)


@dataclass(frozen=True)
class Look:
    """One performer's appearance, drawn from the palettes (never from its class)."""
    skin: tuple
    hair: tuple
    hair_style: int          # 0 short, 1 long, 2 cap, 3 bald
    shirt: tuple
    legs: tuple
    build: float             # torso half-width, sprite units
    colours: dict            # role -> RGB

    @classmethod
    def draw(cls, rng: np.random.Generator) -> "Look":
        def pick(palette, jitter=18):
            base = np.array(palette[int(rng.integers(len(palette)))], dtype=float)
            return tuple(int(v) for v in np.clip(base + rng.integers(-jitter, jitter + 1, 3), 0, 255))
        shirt = tuple(int(v) for v in rng.integers(20, 236, 3))
        legs = tuple(int(v) for v in rng.integers(15, 120, 3))
        colours = {"body": pick(BODIES), "dark": pick(DARKS, 10), "light": pick(LIGHTS, 10),
                   "metal": pick(METALS), "trim": tuple(int(v) for v in rng.integers(20, 236, 3))}
        return cls(skin=pick(SKINS, 10), hair=pick(HAIRS, 10), hair_style=int(rng.integers(4)), shirt=shirt,
                   legs=legs, build=float(rng.uniform(0.15, 0.2)), colours=colours)


def _shifted(prim, du: float, dv: float, widen: float = 0.0):
    """A primitive moved by (du, dv) box units; `widen` extends a rect/stripes' right edge."""
    kind, *p = prim
    if kind in ("rect", "stripes"):
        return (kind, p[0] + du, p[1] + dv, p[2] + du + widen, p[3] + dv, *p[4:])
    if kind == "ell":
        return (kind, p[0] + du, p[1] + dv, *p[2:])
    if kind == "tri":
        return (kind, *[v + (du if i % 2 == 0 else dv) for i, v in enumerate(p[:6])])
    if kind == "line":
        return (kind, p[0] + du, p[1] + dv, p[2] + du, p[3] + dv, *p[4:])
    raise ValueError(kind)


def _to_sprite(x: float, y: float) -> tuple[float, float]:
    bx0, by0, bx1, by1 = INSTRUMENT_BOX
    return bx0 + x * (bx1 - bx0), by0 + y * (by1 - by0)


def draw_pose(instrument: str, look: Look, pose: float, h: int) -> tuple[np.ndarray, np.ndarray]:
    """(rgb uint8 [h, w, 3], mask bool [h, w]) of one performer at pose 0..1, h pixels tall."""
    w = max(8, int(round(SPRITE_ASPECT * h)))
    motion = MOTIONS[instrument]
    lift = motion.breathe * pose
    c = Canvas(h, w)
    chest = lift * 0.3
    c.draw(("rect", .5 - look.build + .04, .56, .48, .99), look.legs)                 # legs
    c.draw(("rect", .52, .56, .5 + look.build - .04, .99), look.legs)
    c.draw(("rect", .5 - look.build, .17 - chest, .5 + look.build, .6), look.shirt)   # torso
    head_y = .09 - chest
    if look.hair_style == 1:
        c.draw(("rect", .38, head_y - .02, .62, head_y + .12), look.hair)
    c.draw(("ell", .5, head_y, .12, .075), look.skin)
    if look.hair_style in (0, 1):
        c.draw(("ell", .5, head_y - .045, .12, .04), look.hair)
    elif look.hair_style == 2:
        c.draw(("rect", .37, head_y - .08, .63, head_y - .025), look.hair)
    box = INSTRUMENT_BOX
    for i, (prim, role) in enumerate(SHAPES[instrument]):
        du, dv = (motion.shift[0] * pose, motion.shift[1] * pose) if i in motion.move else (0.0, 0.0)
        widen = motion.widen * pose if i in motion.stretch else 0.0
        c.draw(_shifted(prim, du, dv - lift, widen), look.colours[role], box)
    shoulders = ((.5 - look.build + .03, .2 - chest), (.5 + look.build - .03, .2 - chest))
    for (x0, y0), ((ax, ay), (bx, by)) in zip(shoulders, motion.hands):
        hx, hy = _to_sprite(ax + (bx - ax) * pose, ay + (by - ay) * pose - lift)
        c.draw(("line", x0, y0, hx, hy, .075), look.shirt)                              # sleeve and arm
        c.draw(("ell", hx, hy, .045, .03), look.skin)                                  # hand
    return c.rgb, c.mask


def performer_poses(instrument: str, look: Look, h: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The POSES sprites of one performer, pose k at k / (POSES - 1) of the motion."""
    return [draw_pose(instrument, look, k / (POSES - 1), h) for k in range(POSES)]
