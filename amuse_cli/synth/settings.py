"""Where a stage-world performance takes place: nine settings, indoor and outdoor, each drawn anew per
video (colours, clutter, its layout) from the video's pixel RNG, plus the light that falls on it.

A setting is a name (SETTINGS) and a function painting the empty stage on a canvas in unit coordinates;
`floor` is where the ground starts (performers stand below it). "Where is the performance?" answers
`indoor` / `outdoor` from the setting's kind. Clutter (furniture, stands, trees, buildings) sits behind the
performers and is never an instrument.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amuse_cli.synth.looks import Canvas

FLOOR_RANGE = (0.5, 0.6)        # canvas height fraction where the floor / ground begins


def _col(rng, base, jitter=20):
    return tuple(int(v) for v in np.clip(np.array(base, float) + rng.integers(-jitter, jitter + 1, 3), 0, 255))


def _any(rng, lo=30, hi=230):
    return tuple(int(v) for v in rng.integers(lo, hi, 3))


def _gradient(c: Canvas, top, bottom, y0: float, y1: float) -> None:
    """Vertical colour gradient over rows y0..y1 (fractions)."""
    r0, r1 = int(y0 * c.h), int(y1 * c.h)
    t = np.linspace(0, 1, max(r1 - r0, 1))[:, None, None]
    c.rgb[r0:r1] = (np.array(top) * (1 - t) + np.array(bottom) * t).astype(np.uint8)
    c.mask[r0:r1] = True


def _wall_and_floor(c, rng, wall, floor_col, floor):
    _gradient(c, _col(rng, wall), _col(rng, wall, 5), 0, floor)
    _gradient(c, _col(rng, floor_col), _col(rng, floor_col, 5), floor, 1.0)


def _windows(c, rng, floor, n, arched=False):
    for _ in range(n):
        x, w = rng.uniform(0.02, 0.85), rng.uniform(0.07, 0.14)
        y0, y1 = rng.uniform(0.08, 0.2), floor - rng.uniform(0.12, 0.22)
        frame = _col(rng, (90, 70, 50), 40)
        c.draw(("rect", x - .01, y0 - .01, x + w + .01, y1 + .01), frame)
        glass = _col(rng, (150, 190, 230), 30)
        c.draw(("rect", x, y0, x + w, y1), glass)
        if arched:
            c.draw(("ell", x + w / 2, y0, w / 2, w / 2 * 1.2), glass)
            for k in range(3):
                c.draw(("rect", x + k * w / 3, y0 + .05, x + (k + 1) * w / 3 - .005, y1), _any(rng, 60, 230))
        c.draw(("line", x + w / 2, y0, x + w / 2, y1, .004), frame)


def _chairs(c, rng, floor, n):
    for _ in range(n):
        x, s = rng.uniform(0, 0.95), rng.uniform(0.04, 0.07)
        y = floor + rng.uniform(0.0, 0.06)
        col = _any(rng, 30, 200)
        c.draw(("rect", x, y - 2 * s, x + s * .2, y + s), col)
        c.draw(("rect", x, y, x + s, y + s * .2), col)
        c.draw(("rect", x + s * .8, y, x + s, y + s), col)


def _stands(c, rng, floor, n):
    for _ in range(n):
        x, y = rng.uniform(0.02, 0.98), floor + rng.uniform(0.0, 0.1)
        col = _col(rng, (40, 40, 45), 15)
        c.draw(("line", x, y, x, y - .22, .003), col)
        c.draw(("rect", x - .03, y - .27, x + .03, y - .21), col)


def concert_hall(c, rng, floor):
    _wall_and_floor(c, rng, (60, 20, 25), (120, 75, 40), floor)
    curtain = _col(rng, (150, 20, 30), 30)
    for x0 in (0.0, rng.uniform(0.86, 0.92)):
        c.draw(("rect", x0, 0, x0 + .1, floor + .05), curtain)
        c.draw(("stripes", x0, 0, x0 + .1, floor + .05, 4), _col(rng, curtain, 25))
    c.draw(("rect", 0, 0, 1, .06), curtain)
    for _ in range(int(rng.integers(2, 5))):
        c.draw(("ell", rng.uniform(.1, .9), floor + rng.uniform(.15, .35), rng.uniform(.08, .14), .05),
               _col(rng, (200, 170, 120), 20))
    _stands(c, rng, floor, int(rng.integers(0, 4)))


def living_room(c, rng, floor):
    _wall_and_floor(c, rng, (215, 200, 170), (130, 90, 55), floor)
    _windows(c, rng, floor, int(rng.integers(1, 3)))
    sx = rng.uniform(0, 0.7)
    sofa = _any(rng, 40, 200)
    c.draw(("rect", sx, floor - .12, sx + .3, floor + .03), sofa)
    c.draw(("rect", sx - .02, floor - .06, sx + .32, floor + .05), _col(rng, sofa, 25))
    lx = rng.uniform(0.05, 0.95)
    c.draw(("line", lx, floor + .02, lx, floor - .3, .004), (50, 50, 50))
    c.draw(("tri", lx - .04, floor - .28, lx + .04, floor - .28, lx, floor - .36), _col(rng, (240, 220, 160)))
    c.draw(("ell", rng.uniform(.2, .8), rng.uniform(.8, .95), rng.uniform(.2, .35), .06), _any(rng, 60, 200))
    for _ in range(int(rng.integers(0, 3))):
        x = rng.uniform(0.05, 0.85)
        c.draw(("rect", x, .12, x + .08, .24), (60, 50, 40))
        c.draw(("rect", x + .008, .13, x + .072, .23), _any(rng, 40, 230))


def studio(c, rng, floor):
    _wall_and_floor(c, rng, (90, 90, 100), (70, 70, 75), floor)
    panel = _any(rng, 40, 160)
    for i in range(8):
        for j in range(3):
            c.draw(("rect", .02 + i * .125, .05 + j * .15, .12 + i * .125, .17 + j * .15), _col(rng, panel, 12))
    for _ in range(int(rng.integers(1, 3))):
        x = rng.uniform(0, 0.92)
        c.draw(("rect", x, floor - .2, x + .07, floor + .02), (25, 25, 28))
        c.draw(("ell", x + .035, floor - .12, .025, .03), (70, 70, 75))
    _stands(c, rng, floor, int(rng.integers(1, 4)))


def church(c, rng, floor):
    _wall_and_floor(c, rng, (170, 160, 140), (120, 110, 100), floor)
    for k in range(6):
        c.draw(("stripes", 0, k * floor / 6, 1, k * floor / 6 + .005, 1), _col(rng, (140, 130, 115), 8))
    _windows(c, rng, floor, int(rng.integers(2, 4)), arched=True)
    for x in rng.uniform(0.05, 0.95, size=int(rng.integers(1, 3))):
        c.draw(("rect", x - .025, 0, x + .025, floor + .02), _col(rng, (190, 180, 160), 10))
    _chairs(c, rng, floor, int(rng.integers(0, 3)))


def classroom(c, rng, floor):
    _wall_and_floor(c, rng, (200, 210, 190), (150, 140, 120), floor)
    bx = rng.uniform(0.05, 0.5)
    board = (30, 60, 40) if rng.random() < 0.5 else (235, 235, 235)
    c.draw(("rect", bx - .01, .1, bx + .41, .4), (120, 90, 60))
    c.draw(("rect", bx, .11, bx + .4, .39), _col(rng, board, 8))
    for _ in range(int(rng.integers(1, 4))):
        x = rng.uniform(0.05, 0.9)
        c.draw(("rect", x, .08, x + .06, .18), _any(rng, 80, 240))
    _chairs(c, rng, floor, int(rng.integers(2, 6)))
    _windows(c, rng, floor, int(rng.integers(0, 2)))


def _sky(c, rng, floor):
    _gradient(c, _col(rng, (90, 150, 230), 25), _col(rng, (200, 220, 245), 15), 0, floor)
    for _ in range(int(rng.integers(0, 4))):
        x, y = rng.uniform(0, 1), rng.uniform(.05, .3)
        for k in range(3):
            c.draw(("ell", x + k * .04, y + (k % 2) * .01, .05, .03), _col(rng, (245, 245, 245), 8))


def _trees(c, rng, floor, n):
    for _ in range(n):
        x, s = rng.uniform(0, 1), rng.uniform(.1, .2)
        c.draw(("rect", x - s * .08, floor - s * 1.2, x + s * .08, floor + .01), _col(rng, (90, 60, 35), 15))
        c.draw(("ell", x, floor - s * 1.5, s * .6, s * .7), _col(rng, (50, 120, 45), 25))


def park(c, rng, floor):
    _sky(c, rng, floor)
    _trees(c, rng, floor, int(rng.integers(2, 6)))
    _gradient(c, _col(rng, (80, 150, 60), 20), _col(rng, (60, 130, 45), 10), floor, 1.0)
    c.draw(("tri", .35, 1, .65, 1, .5, floor), _col(rng, (190, 170, 130), 15))
    for _ in range(int(rng.integers(0, 3))):
        x = rng.uniform(0, .9)
        c.draw(("rect", x, floor - .04, x + .12, floor - .02), (110, 75, 45))
        c.draw(("rect", x, floor, x + .12, floor + .015), (110, 75, 45))


def street(c, rng, floor):
    _sky(c, rng, floor)
    x = -rng.uniform(0, .1)
    while x < 1:
        w, top = rng.uniform(.12, .25), rng.uniform(.05, .35)
        wall = _any(rng, 90, 220)
        c.draw(("rect", x, top, x + w, floor), wall)
        for i in range(int(w / .05)):
            for j in range(int((floor - top) / .08)):
                c.draw(("rect", x + .01 + i * .05, top + .02 + j * .08, x + .035 + i * .05, top + .06 + j * .08),
                       _col(rng, (70, 90, 110), 25))
        x += w + rng.uniform(0, .03)
    _gradient(c, _col(rng, (120, 120, 120), 15), _col(rng, (90, 90, 95), 10), floor, 1.0)
    for lx in rng.uniform(0, 1, size=int(rng.integers(0, 3))):
        c.draw(("line", lx, floor + .05, lx, floor - .35, .006), (40, 40, 40))
        c.draw(("ell", lx, floor - .36, .02, .015), (250, 240, 180))


def beach(c, rng, floor):
    _sky(c, rng, floor - .08)
    _gradient(c, _col(rng, (40, 110, 170), 20), _col(rng, (70, 150, 190), 15), floor - .08, floor)
    _gradient(c, _col(rng, (225, 205, 150), 15), _col(rng, (210, 190, 130), 10), floor, 1.0)
    for _ in range(int(rng.integers(0, 3))):
        x = rng.uniform(.05, .95)
        c.draw(("line", x, floor + .1, x, floor - .15, .004), (90, 90, 90))
        c.draw(("tri", x - .09, floor - .13, x + .09, floor - .13, x, floor - .2), _any(rng, 80, 250))


def garden(c, rng, floor):
    _sky(c, rng, floor)
    _trees(c, rng, floor - .08, int(rng.integers(0, 3)))
    c.draw(("rect", 0, floor - .12, 1, floor + .01), _col(rng, (40, 100, 40), 20))
    _gradient(c, _col(rng, (95, 165, 70), 20), _col(rng, (75, 145, 55), 10), floor, 1.0)
    for _ in range(int(rng.integers(10, 30))):
        c.draw(("ell", rng.uniform(0, 1), floor - rng.uniform(0, .1), .008, .008), _any(rng, 120, 255))
    fence = _col(rng, (230, 230, 225), 15)
    c.draw(("stripes", 0, floor - .1, 1, floor, 30), fence)
    c.draw(("rect", 0, floor - .07, 1, floor - .06), fence)


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str              # "indoor" | "outdoor": the answer to "Where is the performance?"
    paint: object


SETTINGS = {s.name: s for s in (
    Setting("concert_hall", "indoor", concert_hall), Setting("living_room", "indoor", living_room),
    Setting("studio", "indoor", studio), Setting("church", "indoor", church),
    Setting("classroom", "indoor", classroom), Setting("park", "outdoor", park),
    Setting("street", "outdoor", street), Setting("beach", "outdoor", beach), Setting("garden", "outdoor", garden),
)}


def paint_setting(name: str, w: int, h: int, floor: float, rng: np.random.Generator) -> np.ndarray:
    """The empty stage of setting `name`, uint8 [h, w, 3]."""
    c = Canvas(h, w)
    SETTINGS[name].paint(c, rng, floor)
    return c.rgb


@dataclass(frozen=True)
class Light:
    """The light of one video: overall level, a colour cast, a soft spot and a vignette."""
    gain: float
    tint: tuple
    spot: tuple            # (x, y, radius) in frame fractions, brighter inside
    vignette: float

    @classmethod
    def draw(cls, rng: np.random.Generator, indoor: bool) -> "Light":
        tint = (1 + rng.uniform(-.08, .08), 1.0, 1 + rng.uniform(-.08, .08))
        return cls(gain=float(rng.uniform(0.72, 1.1)), tint=tuple(float(v) for v in tint),
                   spot=(float(rng.uniform(.2, .8)), float(rng.uniform(.3, .8)), float(rng.uniform(.3, .6))),
                   vignette=float(rng.uniform(0.0, 0.35 if indoor else 0.15)))

    def field(self, w: int, h: int) -> np.ndarray:
        """Per-pixel multiplier float32 [h, w, 3]."""
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        x, y = xx / w, yy / h
        sx, sy, r = self.spot
        spot = 1 + 0.18 * np.exp(-((x - sx) ** 2 + (y - sy) ** 2) / (r * r))
        vig = 1 - self.vignette * ((x - .5) ** 2 + (y - .5) ** 2) * 2
        return (self.gain * (spot * vig)[..., None] * np.array(self.tint, np.float32)).astype(np.float32)
