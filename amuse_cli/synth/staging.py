"""The stage world's ground truth: performers placed freely on a stage, a setting, a moving camera.

Everything the picture, the sound and the questions need is decided here (from the SCENE stream of the
video's RNG), so they can never disagree. Differences from the classic world (scene.py), which stays as it
was so its published figures can be reproduced:

- 1-6 performers anywhere on the stage, at depths 0 (front) .. 1 (back) that set their size and height in
  the picture; a performer in front may hide up to MAX_HIDDEN of one behind it; several of one class.
- Nine settings (settings.py), indoor and outdoor; a camera that pans and zooms slowly over the clip.
- Screen positions as an annotator reads the frame: `x` is a performer's horizontal centre on screen (mean
  over the clip), `position` its third of the frame, or None when it comes within POSITION_MARGIN of a
  third's edge at any moment (a question that needs it is then not asked). `x_span` keeps its range.

Stage coordinates are fractions of the canvas the camera looks at (x right, y down); the camera shows a
square-scaled window `view` (a fraction of the canvas width and height) centred on `centre`.
"""
from __future__ import annotations

import numpy as np

from amuse_cli.data.taxonomy import INSTRUMENTS
from amuse_cli.synth.figures import SPRITE_ASPECT
from amuse_cli.synth.performance import NOTE_NAMES, draw_piece, play
from amuse_cli.synth.scene import (LOUDNESS_DB, NOTES_PER_BEAT, P_MIME, P_OFFSCREEN, P_SILENT, P_VOICEOVER, Stream,
                                   _intervals, _mime, _tempo, beat_times, position_of, video_rng)
from amuse_cli.synth.settings import FLOOR_RANGE, SETTINGS
from amuse_cli.synth.timbre import REGISTERS, UNPITCHED

N_VISIBLE_P = {1: 0.14, 2: 0.24, 3: 0.24, 4: 0.18, 5: 0.11, 6: 0.09}
P_DUPLICATE = 0.35            # a second performer of a class already on stage (again, from 4 on)
MAX_HIDDEN = 0.35             # at most this share of a performer's box behind one in front of it
POSITION_MARGIN = 0.03        # screen x this close to 1/3 or 2/3 at any moment: position ambiguous
ORDER_MARGIN = 0.05           # screen centres closer than this: left/right order ambiguous
HEIGHT_FRONT, HEIGHT_BACK = 0.5, 0.28      # performer height, canvas fraction, at depth 0 and 1
VIEW_RANGE = (0.8, 0.92)      # camera window, fraction of the canvas; zoom = a change of it
PAN_MAX, ZOOM_MAX = 0.06, 0.08
PLACE_TRIES = 200
QP_RANGE = (26, 35)           # H.264 quantiser per video: compression noise from mild to visible


def _camera(rng) -> dict:
    v0 = float(rng.uniform(*VIEW_RANGE))
    v1 = float(np.clip(v0 + rng.uniform(-ZOOM_MAX, ZOOM_MAX), *VIEW_RANGE))
    cx0 = float(rng.uniform(0.5 - 0.03, 0.5 + 0.03))
    cx1 = float(cx0 + rng.uniform(-PAN_MAX, PAN_MAX))
    lo_y = [1 - v / 2 for v in (v0, v1)]            # keep the window's bottom on the canvas
    cy = [float(min(rng.uniform(0.5, 0.56), y)) for y in lo_y]
    cxs = [float(np.clip(c, v / 2, 1 - v / 2)) for c, v in ((cx0, v0), (cx1, v1))]
    return {"view": [round(v0, 4), round(v1, 4)], "centre": [[round(cxs[0], 4), round(cy[0], 4)],
                                                              [round(cxs[1], 4), round(cy[1], 4)]]}


def camera_at(camera: dict, duration: float, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(view, centre x, centre y) at times t: a smooth move from the first to the second setting."""
    s = np.clip(np.asarray(t, float) / max(duration, 1e-9), 0, 1)
    s = s * s * (3 - 2 * s)
    (v0, v1), ((x0, y0), (x1, y1)) = camera["view"], camera["centre"]
    return v0 + (v1 - v0) * s, x0 + (x1 - x0) * s, y0 + (y1 - y0) * s


def stage_box(stage: dict, aspect: float) -> tuple[float, float, float, float]:
    """A performer's box on the canvas (x0, y0, x1, y1, canvas fractions); aspect = canvas w / h."""
    h = stage["height"]
    half_w = SPRITE_ASPECT * h / aspect / 2
    return stage["x"] - half_w, stage["feet"] - h, stage["x"] + half_w, stage["feet"]


def screen_boxes(meta: dict, times) -> np.ndarray:
    """[visible performers (meta order), len(times), 4] boxes on screen (x0, y0, x1, y1 in 0..1)."""
    w, h = meta["size"]
    view, cx, cy = camera_at(meta["camera"], meta["duration"], np.asarray(times, float))
    out = []
    for s in meta["sources"]:
        if s["visible"]:
            x0, y0, x1, y1 = stage_box(s["stage"], w / h)
            out.append(np.stack([(x0 - cx) / view + .5, (y0 - cy) / view + .5,
                                 (x1 - cx) / view + .5, (y1 - cy) / view + .5], axis=-1))
    return np.array(out, dtype=np.float32).reshape(len(out), len(np.atleast_1d(times)), 4)


def _hidden(back, front) -> float:
    ix = max(0.0, min(back[2], front[2]) - max(back[0], front[0]))
    iy = max(0.0, min(back[3], front[3]) - max(back[1], front[1]))
    return ix * iy / max((back[2] - back[0]) * (back[3] - back[1]), 1e-9)


def _spot(rng, left: float, right: float, floor: float, aspect: float) -> dict:
    d = float(rng.uniform(0, 1))
    height = float((HEIGHT_FRONT + (HEIGHT_BACK - HEIGHT_FRONT) * d) * rng.uniform(0.92, 1.08))
    half_w = SPRITE_ASPECT * height / aspect / 2
    x = float(rng.uniform(left + half_w, right - half_w))
    feet = float(0.97 - (0.97 - (floor + 0.1)) * d)
    return {"x": round(x, 4), "depth": round(d, 4), "feet": round(feet, 4), "height": round(height, 4)}


def _fits(spot: dict, spots: list[dict], aspect: float) -> bool:
    """No performer hides more than MAX_HIDDEN of one behind it."""
    box = stage_box(spot, aspect)
    for other in spots:
        ob = stage_box(other, aspect)
        back, front = (box, ob) if spot["depth"] > other["depth"] else (ob, box)
        if _hidden(back, front) > MAX_HIDDEN:
            return False
    return True


def _place(rng, n: int, camera: dict, floor: float, aspect: float) -> list[dict]:
    """n stage spots, one after another, inside the camera's window at every moment, none hiding another
    too much (a crowded draw starts over)."""
    views, centres = camera["view"], camera["centre"]
    left = max(c[0] - v / 2 for c, v in zip(centres, views)) + 0.01
    right = min(c[0] + v / 2 for c, v in zip(centres, views)) - 0.01
    while True:
        spots = []
        for _ in range(PLACE_TRIES):
            spot = _spot(rng, left, right, floor, aspect)
            if _fits(spot, spots, aspect):
                spots.append(spot)
                if len(spots) == n:
                    return spots


def _screen_truth(src: dict, meta_like: dict, times) -> None:
    """x, x_span and position (None when ambiguous) of a visible source, as read from the frames."""
    boxes = screen_boxes({**meta_like, "sources": [src]}, times)[0]
    xs = (boxes[:, 0] + boxes[:, 2]) / 2
    lo, hi = float(xs.min()), float(xs.max())
    near_edge = any(abs(x - edge) < POSITION_MARGIN for x in (lo, hi) for edge in (1 / 3, 2 / 3))
    crosses = position_of(lo) != position_of(hi)
    src.update(x=round(float(xs.mean()), 4), x_span=[round(lo, 4), round(hi, 4)],
               position=None if near_edge or crosses else position_of(float(xs.mean())))


def _source(rng, sid: int, instrument: str, spot: dict | None, sounding: bool, duration: float, beats,
            piece: dict) -> dict:
    """One sound source or performer: when it plays, how loudly, and its notes (performance.play, in the
    clip's key and meter); `depth` places its sound in the room (off stage: somewhere behind)."""
    register = None if instrument in UNPITCHED else str(rng.choice(REGISTERS[instrument]))
    intervals = [[round(s, 4), round(e, 4)] for s, e in _intervals(rng, duration, beats)] if sounding else []
    loudness = round(float(rng.uniform(*LOUDNESS_DB)), 1) if sounding else None
    depth = spot["depth"] if spot else round(float(rng.uniform(0.3, 1.0)), 4)
    density = float(rng.choice(NOTES_PER_BEAT))
    perf = play(rng, instrument, register, intervals, beats, density, piece) if sounding else {"notes": []}
    src = {"id": sid, "instrument": instrument, "position": None, "x": None, "visible": spot is not None,
           "sounding": sounding, "intervals": intervals, "loudness_db": loudness, "register": register,
           "notes": perf["notes"], "mimed": False, "seen_playing": intervals if spot else [], "depth": depth}
    for key in ("articulation", "vibrato", "vibrato_hz", "slide", "dynamics"):
        if key in perf:
            src[key] = perf[key]
    if spot:
        src["stage"] = spot
    return src


def _classes(rng, n: int) -> list[str]:
    classes = [str(c) for c in rng.choice(INSTRUMENTS, size=n, replace=False)]
    for _ in range(1 + (n >= 4)):
        if n >= 2 and rng.random() < P_DUPLICATE:
            i, j = rng.choice(n, size=2, replace=False)
            classes[j] = classes[i]
    return classes


def sample_stage(seed: int, index: int, duration: float, fps: int, size: tuple[int, int], sample_rate: int,
                 generator: str, settings: tuple[str, ...] | None = None) -> dict:
    """The ground truth of stage-world video `index`; `settings` limits the settings drawn from."""
    rng = video_rng(seed, index, Stream.SCENE)
    names = sorted(settings or SETTINGS)
    setting = names[int(rng.integers(len(names)))]
    floor = float(rng.uniform(*FLOOR_RANGE))
    camera = _camera(rng)
    tempo = _tempo(rng, duration)
    beats = beat_times(tempo)
    piece = draw_piece(rng)
    n_vis = int(rng.choice(list(N_VISIBLE_P), p=list(N_VISIBLE_P.values())))
    spots = _place(rng, n_vis, camera, floor, size[0] / size[1])
    classes = _classes(rng, n_vis)
    silent = [bool(rng.random() < P_SILENT) for _ in range(n_vis)]
    sources = [_source(rng, i, c, spot, not s, duration, beats, piece)
               for i, (c, spot, s) in enumerate(zip(classes, spots, silent))]
    mimes = video_rng(seed, index, Stream.MIMES)
    for src in sources:
        if src["sounding"] and classes.count(src["instrument"]) == 1 and mimes.random() < P_MIME:
            _mime(src)
            for key in ("articulation", "vibrato", "vibrato_hz", "slide", "dynamics"):
                src.pop(key, None)
    if rng.random() < P_OFFSCREEN or not any(s["sounding"] for s in sources):
        others = [c for c in INSTRUMENTS if c not in classes]
        sources.append(_source(rng, len(sources), str(rng.choice(others)), None, True, duration, beats, piece))
    voice = []
    if rng.random() < P_VOICEOVER:
        length = min(rng.uniform(1.5, 3.0), 0.6 * duration)
        start = rng.uniform(0.0, duration - length)
        voice = [[round(start, 4), round(start + length, 4)]]
    meta = {
        "video_id": f"{index:08d}", "generator": generator, "world": "stage",
        "duration": float(duration), "fps": int(fps), "size": [int(size[0]), int(size[1])],
        "sample_rate": int(sample_rate),
        "setting": setting, "background": SETTINGS[setting].kind, "floor": round(floor, 4), "camera": camera,
        "voiceover": {"present": bool(voice), "intervals": voice},
        "piece": {"key": f"{NOTE_NAMES[piece['tonic']]} {piece['mode']}", "meter": piece["meter"]},
        "sources": sources, "tempo": tempo, "tempo_changes": [p["start"] for p in tempo[1:]],
        "seed": [int(seed), int(index)],
        "encoding": {"qp": int(rng.integers(*QP_RANGE))},
    }
    times = (np.arange(int(round(duration * fps))) + 0.5) / fps
    for src in sources:
        if src["visible"]:
            _screen_truth(src, meta, times)
    return meta
