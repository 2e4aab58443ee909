"""Each instrument class's look, and a performer sprite drawn with numpy masks.

Looks are made to survive a 64 px thumbnail: one dominant colour per class (chosen far apart) plus a
class shape (guitar body, tall tube, bell, drum, keyboard, bars...). A performer has three sprites:
silent (arms hanging, no marks) and two sounding poses (arms on the instrument, a yellow glow around
it and vibration marks beside it), so "is it sounding" can be read from one frame and the two
poses alternate on the beat so it also visibly moves while, and only while, it sounds.
"""
from __future__ import annotations

import numpy as np

GLOW = (255, 235, 60)
MARKS = (255, 255, 255)
SKIN = (225, 185, 150)
SHIRTS = ((70, 70, 80), (90, 85, 75), (60, 75, 90), (95, 95, 95))

# Primitives in instrument-box units (x, y in 0..1, y down):
#   ("rect", x0, y0, x1, y1), ("ell", cx, cy, rx, ry), ("tri", x0, y0, x1, y1, x2, y2),
#   ("line", x0, y0, x1, y1, width), ("stripes", x0, y0, x1, y1, n) vertical stripes, then a colour.
LOOKS = {
    "accordion": [("rect", .1, .2, .9, .8, (205, 25, 35)), ("stripes", .2, .25, .8, .75, 6, (250, 250, 250))],
    "acoustic_guitar": [("ell", .5, .72, .36, .25, (225, 170, 95)), ("ell", .5, .45, .27, .2, (225, 170, 95)),
                        ("ell", .5, .55, .08, .06, (40, 25, 10)), ("rect", .45, 0, .55, .35, (95, 55, 20))],
    "bagpipe": [("ell", .45, .62, .36, .3, (25, 135, 60)), ("stripes", .2, .45, .7, .8, 3, (200, 30, 30)),
                ("line", .3, .5, .2, .0, .05, (20, 20, 20)), ("line", .5, .45, .5, .0, .05, (20, 20, 20)),
                ("line", .65, .5, .85, .05, .05, (20, 20, 20))],
    "banjo": [("rect", .46, 0, .54, .45, (110, 70, 30)), ("ell", .5, .66, .36, .3, (120, 80, 40)),
              ("ell", .5, .66, .3, .25, (245, 245, 235))],
    "bassoon": [("rect", .4, 0, .6, 1, (20, 135, 145)), ("stripes", .42, .2, .58, .8, 3, (220, 220, 230)),
                ("line", .5, .05, .2, .2, .04, (200, 200, 210))],
    "cello": [("ell", .5, .36, .3, .22, (115, 30, 30)), ("ell", .5, .72, .38, .27, (115, 30, 30)),
              ("rect", .46, 0, .54, .62, (10, 10, 10)), ("line", .5, .95, .5, 1, .03, (150, 150, 150))],
    "clarinet": [("rect", .44, .03, .56, .85, (15, 15, 15)), ("tri", .5, .7, .3, 1, .7, 1, (15, 15, 15)),
                 ("stripes", .44, .2, .56, .7, 4, (210, 210, 220))],
    "congas": [("rect", .08, .3, .46, 1, (215, 115, 35)), ("rect", .54, .4, .92, 1, (215, 115, 35)),
               ("ell", .27, .3, .19, .06, (240, 220, 175)), ("ell", .73, .4, .19, .06, (240, 220, 175))],
    "drum": [("rect", .1, .45, .9, .92, (30, 60, 210)), ("ell", .5, .45, .4, .1, (250, 250, 250)),
             ("line", .2, .1, .45, .42, .04, (240, 200, 120)), ("line", .8, .1, .55, .42, .04, (240, 200, 120))],
    "electric_bass": [("ell", .5, .72, .3, .22, (135, 40, 195)), ("tri", .2, .7, .3, .35, .45, .6, (135, 40, 195)),
                      ("rect", .46, 0, .54, .65, (15, 15, 15))],
    "erhu": [("rect", .45, 0, .55, .9, (70, 35, 15)), ("rect", .3, .7, .7, .97, (150, 60, 20)),
             ("line", .0, .72, 1, .5, .08, (230, 210, 60))],
    "flute": [("rect", 0, .36, 1, .46, (205, 205, 220)), ("stripes", .2, .38, .8, .44, 5, (60, 60, 70))],
    "guzheng": [("tri", 0, .35, 1, .62, 1, .95, (230, 190, 120)), ("tri", 0, .35, 0, .62, 1, .95, (230, 190, 120)),
                ("line", 0, .45, 1, .75, .03, (255, 255, 255)), ("line", 0, .53, 1, .85, .03, (255, 255, 255)),
                ("rect", .82, .7, 1, .97, (190, 30, 30))],
    "piano": [("rect", 0, .3, 1, .88, (12, 12, 12)), ("rect", .03, .55, .97, .72, (250, 250, 250)),
              ("stripes", .05, .55, .95, .63, 8, (12, 12, 12))],
    "pipa": [("ell", .5, .68, .3, .3, (185, 205, 70)), ("tri", .38, .5, .62, .5, .5, .02, (185, 205, 70)),
             ("rect", .45, 0, .55, .1, (60, 40, 20))],
    "saxophone": [("rect", .33, .05, .5, .78, (240, 160, 30)), ("ell", .52, .8, .22, .13, (240, 160, 30)),
                  ("ell", .7, .6, .13, .16, (240, 160, 30)), ("ell", .7, .56, .08, .08, (90, 50, 10))],
    "suona": [("rect", .44, 0, .56, .6, (120, 20, 60)), ("tri", .5, .45, .15, 1, .85, 1, (245, 205, 60)),
              ("ell", .5, 1, .35, .06, (250, 90, 150))],
    "trumpet": [("rect", .02, .4, .7, .5, (255, 225, 0)), ("tri", .65, .45, 1, .2, 1, .7, (255, 225, 0)),
                ("rect", .3, .28, .45, .42, (255, 225, 0))],
    "tuba": [("ell", .5, .62, .42, .36, (170, 120, 50)), ("ell", .5, .62, .2, .17, (70, 45, 20)),
             ("ell", .62, .12, .3, .12, (170, 120, 50)), ("rect", .55, .12, .7, .4, (170, 120, 50))],
    "ukulele": [("ell", .5, .76, .24, .17, (245, 130, 185)), ("ell", .5, .58, .18, .13, (245, 130, 185)),
                ("rect", .46, .25, .54, .5, (120, 60, 80))],
    "violin": [("ell", .35, .3, .2, .13, (235, 105, 20)), ("ell", .35, .5, .24, .15, (235, 105, 20)),
               ("rect", .32, 0, .38, .4, (20, 20, 20)), ("line", 0, .75, 1, .15, .03, (240, 240, 200))],
    "xylophone": [("rect", 0, .45, 1, .95, (60, 40, 25))] + [
        ("rect", .04 + i * .16, .3 + i * .04, .16 + i * .16, .9 - i * .04, c) for i, c in enumerate(
            ((230, 30, 30), (250, 140, 0), (250, 230, 0), (40, 190, 40), (30, 110, 240), (150, 50, 220)))],
}

INSTRUMENT_BOX = (0.06, 0.3, 0.94, 0.93)   # sprite units: where the instrument sits on the performer


class Canvas:
    """An RGB sprite with a coverage mask, drawn in unit coordinates of a sub-box."""

    def __init__(self, h: int, w: int):
        self.rgb = np.zeros((h, w, 3), dtype=np.uint8)
        self.mask = np.zeros((h, w), dtype=bool)
        self.yy, self.xx = np.mgrid[0:h, 0:w].astype(np.float32)
        self.h, self.w = h, w

    def shape_mask(self, prim, box=(0.0, 0.0, 1.0, 1.0)) -> np.ndarray:
        bx0, by0, bx1, by1 = box
        sx, sy = (bx1 - bx0) * self.w, (by1 - by0) * self.h
        u = (self.xx + 0.5) / sx - bx0 * self.w / sx
        v = (self.yy + 0.5) / sy - by0 * self.h / sy
        kind, *p = prim
        if kind == "rect":
            return (u >= p[0]) & (u < p[2]) & (v >= p[1]) & (v < p[3])
        if kind == "ell":
            return ((u - p[0]) / p[2]) ** 2 + ((v - p[1]) / p[3]) ** 2 <= 1
        if kind == "stripes":
            inside = (u >= p[0]) & (u < p[2]) & (v >= p[1]) & (v < p[3])
            return inside & (((u - p[0]) / (p[2] - p[0]) * p[4] * 2) % 2 < 1)
        if kind == "tri":
            (x0, y0, x1, y1, x2, y2) = p[:6]
            d0 = (u - x1) * (y0 - y1) - (x0 - x1) * (v - y1)
            d1 = (u - x2) * (y1 - y2) - (x1 - x2) * (v - y2)
            d2 = (u - x0) * (y2 - y0) - (x2 - x0) * (v - y0)
            neg = (d0 < 0) | (d1 < 0) | (d2 < 0)
            pos = (d0 > 0) | (d1 > 0) | (d2 > 0)
            return ~(neg & pos)
        if kind == "line":   # thickness p[4] in box-width units, measured in pixels
            x0, y0, x1, y1, width = p[:5]
            px, py = u * sx, v * sy
            ax, ay, bx, by = x0 * sx, y0 * sy, x1 * sx, y1 * sy
            dx, dy = bx - ax, by - ay
            s = np.clip(((px - ax) * dx + (py - ay) * dy) / max(dx * dx + dy * dy, 1e-6), 0, 1)
            return (px - ax - s * dx) ** 2 + (py - ay - s * dy) ** 2 <= (max(width * sx, 1.5) / 2) ** 2
        raise ValueError(kind)

    def draw(self, prim, colour, box=(0.0, 0.0, 1.0, 1.0)) -> np.ndarray:
        m = self.shape_mask(prim, box)
        self.rgb[m] = colour
        self.mask |= m
        return m


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy * dy + dx * dx <= r * r:
                out |= np.roll(np.roll(mask, dy, 0), dx, 1)
    return out


def performer_sprites(instrument: str, h: int, w: int, rng) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"silent" | "play0" | "play1": (rgb uint8 [h,w,3], mask bool [h,w])} for one performer."""
    shirt = SHIRTS[int(rng.integers(len(SHIRTS)))]
    glow_r = max(3, w // 8)     # still >= 1 px at 64 px thumbnails of 320 px frames
    sprites = {}
    for state in ("silent", "play0", "play1"):
        c = Canvas(h, w)
        c.draw(("ell", .5, .1, .14, .08), SKIN)                 # head
        c.draw(("rect", .28, .18, .72, .62), shirt)              # torso
        c.draw(("rect", .33, .62, .45, .99), (40, 40, 50))       # legs
        c.draw(("rect", .55, .62, .67, .99), (40, 40, 50))
        inst = np.zeros((h, w), dtype=bool)
        for prim in LOOKS[instrument]:
            *shape, colour = prim
            inst |= c.shape_mask(tuple(shape), INSTRUMENT_BOX)
        if state != "silent":
            ring = _dilate(inst, glow_r) & ~inst
            c.rgb[ring] = GLOW
            c.mask |= ring
            for k in range(3):                                       # vibration marks
                y = .35 + .12 * k + (.04 if state == "play1" else 0)
                c.draw(("line", .9, y, 1.0, y - .05, .04), MARKS)
                c.draw(("line", .0, y, .1, y - .05, .04), MARKS)
        for prim in LOOKS[instrument]:
            *shape, colour = prim
            c.draw(tuple(shape), colour, INSTRUMENT_BOX)
        if state == "silent":                                        # arms hang at the sides
            c.draw(("line", .25, .2, .12, .6, .07), SKIN)
            c.draw(("line", .75, .2, .88, .6, .07), SKIN)
        else:                                                        # arms on the instrument, moving
            lift = .0 if state == "play0" else .12
            c.draw(("line", .3, .2, .4, .5 - lift, .08), SKIN)
            c.draw(("line", .7, .2, .62, .62 - lift, .08), SKIN)
        sprites[state] = (c.rgb, c.mask)
    return sprites
