"""Frames of a stage-world performance: a setting, performers back to front, the light, a camera that
pans and zooms, sensor noise (and the encoder's compression, writer.py, at the video's quantiser).

Playing shows only as motion: a performer who plays moves through its poses with its notes (each onset
starts a stroke: bow down then up, strum down then up, sticks down, bellows out then in, a breath) and sways
with the beat; a silent performer holds one pose drawn from the same range and stands still; a mime moves
on the beat of its `seen_playing` intervals though nothing of it is heard. One frame therefore shows a
posture, never whether sound comes out.
"""
from __future__ import annotations

import math

import numpy as np

from amuse_cli.synth.figures import POSES, Look, performer_poses
from amuse_cli.synth.scene import beat_times
from amuse_cli.synth.settings import Light, paint_setting
from amuse_cli.synth.staging import VIEW_RANGE, camera_at, stage_box

SWAY = 0.035             # sway amplitude while playing, fraction of the performer's height
NOISE_SIGMA = (1.5, 5.0)  # sensor noise, grey levels, drawn per video
SHAKE_PX = 0.6           # hand-held camera shake, canvas pixels


def canvas_size(size: tuple[int, int]) -> tuple[int, int]:
    """Canvas pixels: the camera's tightest window still has one canvas pixel per frame pixel."""
    return math.ceil(size[0] / VIEW_RANGE[0]), math.ceil(size[1] / VIEW_RANGE[0])


def stroke_onsets(src: dict, meta: dict) -> np.ndarray:
    """Times at which a seen-playing performer starts a stroke: its notes' onsets, or for a mime (no
    notes) the beats inside its seen-playing intervals."""
    if src["notes"]:
        return np.unique(np.round([n["t"] for n in src["notes"]], 4))
    beats = [b for b, _ in beat_times(meta["tempo"])]
    return np.array([b for b in beats if any(s <= b < e for s, e in src["seen_playing"])])


def pose_track(src: dict, meta: dict, times: np.ndarray, rest: int) -> tuple[np.ndarray, np.ndarray]:
    """(pose index, sway fraction in -1..1) per frame time. A stroke runs from one onset to the next
    (at most two beats: a long note is one long bow or breath), alternating direction; outside the
    seen-playing intervals the rest pose holds."""
    poses = np.full(len(times), rest, dtype=np.int64)
    sway = np.zeros(len(times))
    onsets = stroke_onsets(src, meta) if src["seen_playing"] else np.array([])
    if not len(onsets):
        return poses, sway
    beat = 60.0 / np.mean([p["bpm"] for p in meta["tempo"]])
    for i, t in enumerate(times):
        if not any(s <= t < e for s, e in src["seen_playing"]):
            continue
        k = int(np.searchsorted(onsets, t, side="right")) - 1
        if k < 0:
            continue
        length = min(onsets[k + 1] - onsets[k] if k + 1 < len(onsets) else beat, 2 * beat)
        progress = min(1.0, (t - onsets[k]) / max(length, 1e-3))
        phase = progress if k % 2 == 0 else 1 - progress
        poses[i] = int(round(phase * (POSES - 1)))
        sway[i] = math.sin(math.pi * (k + progress))
    return poses, sway


def _resample(canvas: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Bilinear samples of canvas [H, W, 3] at columns xs and rows ys (pixel coordinates)."""
    h, w = canvas.shape[:2]
    x0 = np.clip(np.floor(xs).astype(int), 0, w - 2)
    y0 = np.clip(np.floor(ys).astype(int), 0, h - 2)
    fx = np.clip(xs - x0, 0, 1)[None, :, None]
    fy = np.clip(ys - y0, 0, 1)[:, None, None]
    rows = canvas[y0] * (1 - fy) + canvas[y0 + 1] * fy
    return rows[:, x0] * (1 - fx) + rows[:, x0 + 1] * fx


def render_stage_frames(meta: dict, rng: np.random.Generator):
    """Yield uint8 [H, W, 3] frames at meta['fps'] for the whole duration."""
    w, h = meta["size"]
    cw, ch = canvas_size((w, h))
    background = paint_setting(meta["setting"], cw, ch, meta["floor"], rng).astype(np.float32)
    light = Light.draw(rng, meta["background"] == "indoor").field(cw, ch)
    sigma = float(rng.uniform(*NOISE_SIGMA))
    n_frames = int(round(meta["duration"] * meta["fps"]))
    times = np.arange(n_frames) / meta["fps"]
    performers = []
    for src in sorted((s for s in meta["sources"] if s["visible"]), key=lambda s: -s["stage"]["depth"]):
        x0, y0, x1, y1 = stage_box(src["stage"], cw / ch)
        sprites = performer_poses(src["instrument"], Look.draw(rng), max(12, int(round((y1 - y0) * ch))))
        rest = int(rng.integers(POSES))
        poses, sway = pose_track(src, meta, times, rest)
        sw = sprites[0][0].shape[1]
        left, top = int(round((x0 + x1) / 2 * cw - sw / 2)), int(round(y0 * ch))
        amp = SWAY * sprites[0][0].shape[0]
        performers.append((sprites, poses, np.round(sway * amp).astype(int), left, top))
    view, cx, cy = camera_at(meta["camera"], meta["duration"], times)
    grid = (np.arange(w) + 0.5) / w, (np.arange(h) + 0.5) / h
    for f in range(n_frames):
        canvas = background.copy()
        for sprites, poses, sway, left, top in performers:
            rgb, mask = sprites[poses[f]]
            _paste(canvas, rgb, mask, left + sway[f], top)
        canvas *= light
        shake = rng.normal(0, SHAKE_PX, 2)
        xs = (cx[f] - view[f] / 2 + grid[0] * view[f]) * cw - 0.5 + shake[0]
        ys = (cy[f] - view[f] / 2 + grid[1] * view[f]) * ch - 0.5 + shake[1]
        frame = _resample(canvas, xs, ys) + rng.normal(0, sigma, (h, w, 3))
        yield np.clip(frame, 0, 255).astype(np.uint8)


def _paste(canvas: np.ndarray, rgb: np.ndarray, mask: np.ndarray, left: int, top: int) -> None:
    """Draw a sprite's covered pixels onto the canvas, clipped at its edges."""
    ch, cw = canvas.shape[:2]
    sh, sw = mask.shape
    a0, b0 = max(0, top), max(0, left)
    a1, b1 = min(ch, top + sh), min(cw, left + sw)
    if a1 <= a0 or b1 <= b0:
        return
    m = mask[a0 - top:a1 - top, b0 - left:b1 - left]
    region = canvas[a0:a1, b0:b1]
    region[m] = rgb[a0 - top:a1 - top, b0 - left:b1 - left][m]
