"""The synthetic worlds `amuse synth` can make, each a choice of stages: how a scene is planned, how its
picture is drawn, and its default sound and wording (questions are answered the same way in every world).

- `stage` (generator amuse-synth 3, the default): performers anywhere on a stage in nine settings, classes
  told by silhouette only, playing shown only by motion, a moving camera and compression noise; sampled
  instruments (a GM soundfont); questions worded by the templates and by hand-written rephrasings.
- `classic` (amuse-synth 2): the world the README's earlier figures were measured on, byte for byte: 1-4
  performers in fixed columns, a class colour, a glow while playing, synthetic timbres, template wording.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from amuse_cli.synth import CLASSIC_GENERATOR, GENERATOR
from amuse_cli.synth.scene import sample_scene
from amuse_cli.synth.stage_video import render_stage_frames
from amuse_cli.synth.staging import sample_stage, screen_boxes
from amuse_cli.synth.video import SLOT_W, TOP, render_frames


@dataclass(frozen=True)
class World:
    name: str
    generator: str         # recorded in every meta file and the card
    plan: Callable         # (seed, index, duration, fps, size, sample_rate, settings) -> meta
    picture: Callable      # (meta, pixel rng) -> iterator of uint8 [H, W, 3] frames
    audio: str             # the default of --audio
    wording: str           # the default of --wording
    summary: str           # one line for `amuse synth --dry-run` and the card


def _classic_plan(seed, index, duration, fps, size, sample_rate, settings=None):
    return sample_scene(seed, index, duration, fps, size, sample_rate)


def _stage_plan(seed, index, duration, fps, size, sample_rate, settings=None):
    return sample_stage(seed, index, duration, fps, size, sample_rate, WORLDS["stage"].generator, settings)


WORLDS = {w.name: w for w in (
    World("stage", GENERATOR, _stage_plan, render_stage_frames, "soundfont", "mixed",
          "1-6 performers anywhere on a stage at several depths, nine indoor/outdoor settings, class by "
          "silhouette, playing seen only as motion, camera pan/zoom, sampled instruments, rephrased questions"),
    World("classic", CLASSIC_GENERATOR, _classic_plan, render_frames, "synthetic", "templates",
          "1-4 performers in fixed columns with class colours, a glow while playing, synthetic timbres, "
          "template wording (the world of the earlier published figures)"),
)}
DEFAULT_WORLD = "stage"


def performer_boxes(meta: dict, times) -> list[tuple[dict, np.ndarray]]:
    """(source, boxes [len(times), 4] as x0, y0, x1, y1 in 0..1 of the frame) of every on-screen performer
    of a synthetic video of either world: the stage world's sprite boxes through its camera, the classic
    world's fixed slots."""
    times = np.atleast_1d(np.asarray(times, float))
    visible = [s for s in meta["sources"] if s["visible"]]
    if meta.get("world") == "stage":
        return list(zip(visible, screen_boxes(meta, times)))
    return [(s, np.repeat(np.array([[s["x"] - SLOT_W / 2, TOP, s["x"] + SLOT_W / 2, 0.99]]), len(times), 0))
            for s in visible]
