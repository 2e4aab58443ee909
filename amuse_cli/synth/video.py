"""Frames of a performance: a background (indoor room or outdoor field), performers at their screen
positions in silent or sounding poses, mild camera jitter and sensor noise (pixels never repeat)."""
from __future__ import annotations

import numpy as np

from amuse_cli.synth.looks import performer_sprites
from amuse_cli.synth.scene import beat_times

JITTER_PX = 2        # camera shake, each direction
NOISE_LEVEL = 4      # uniform pixel noise, +- grey levels
SLOT_W = 0.23        # performer width, fraction of the frame width
TOP = 0.2            # performer's head, fraction of the frame height from the top


def background(kind: str, w: int, h: int, rng) -> np.ndarray:
    img = np.empty((h, w, 3), dtype=np.uint8)
    yy = np.arange(h, dtype=np.float32)[:, None, None] / h
    if kind == "indoor":   # plain wall, wooden floor, a framed picture
        wall = np.array([rng.uniform(180, 225), rng.uniform(160, 200), rng.uniform(130, 170)])
        img[:] = wall.astype(np.uint8)
        img[int(0.75 * h):] = (np.array([120, 80, 45]) + rng.integers(-15, 15, 3)).astype(np.uint8)
        x0 = int(rng.uniform(0.05, 0.7) * w)
        img[int(0.06 * h):int(0.2 * h), x0:x0 + w // 5] = (60, 60, 70)
        img[int(0.08 * h):int(0.18 * h), x0 + 3:x0 + w // 5 - 3] = rng.integers(60, 200, 3).astype(np.uint8)
    else:                  # sky gradient, sun, grass
        sky = np.array([90, 160, 240]) * (0.8 + 0.3 * yy) + rng.integers(-15, 15, 3)
        img[:] = np.clip(sky, 0, 255).astype(np.uint8)
        img[int(0.7 * h):] = (np.array([60, 160, 50]) + rng.integers(-15, 15, 3)).astype(np.uint8)
        cy, cx, r = int(0.12 * h), int(rng.uniform(0.1, 0.9) * w), max(4, h // 14)
        yv, xv = np.ogrid[:h, :w]
        img[(yv - cy) ** 2 + (xv - cx) ** 2 <= r * r] = (255, 240, 120)
    return img


def render_frames(meta: dict, rng: np.random.Generator):
    """Yield uint8 [H, W, 3] frames at meta['fps'] for the whole duration."""
    w, h = meta["size"]
    m = JITTER_PX
    bg = background(meta["background"], w + 2 * m, h + 2 * m, rng)
    sw, sh = int(SLOT_W * w), int((0.99 - TOP) * h)
    performers = []
    for src in meta["sources"]:
        if src["visible"]:
            x0 = m + int(src["x"] * w) - sw // 2
            performers.append((src, x0, m + int(TOP * h), performer_sprites(src["instrument"], sh, sw, rng)))
    beats = np.array([b for b, _ in beat_times(meta["tempo"])])
    n_frames = int(round(meta["duration"] * meta["fps"]))
    for f in range(n_frames):
        t = f / meta["fps"]
        canvas = bg.copy()
        for src, x0, y0, sprites in performers:
            playing = any(s <= t < e for s, e in src.get("seen_playing", src["intervals"]))
            state = "silent" if not playing else ("play0", "play1")[int(np.searchsorted(beats, t, "right")) % 2]
            rgb, mask = sprites[state]
            canvas[y0:y0 + sh, x0:x0 + sw][mask] = rgb[mask]
        dx, dy = rng.integers(0, 2 * m + 1, size=2)
        frame = canvas[dy:dy + h, dx:dx + w].astype(np.int16)
        frame += rng.integers(-NOISE_LEVEL, NOISE_LEVEL + 1, size=frame.shape, dtype=np.int16)
        yield np.clip(frame, 0, 255).astype(np.uint8)
