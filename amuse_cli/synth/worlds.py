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

from amuse_cli.synth import CLASSIC_GENERATOR, GENERATOR
from amuse_cli.synth.scene import sample_scene
from amuse_cli.synth.stage_video import render_stage_frames
from amuse_cli.synth.staging import sample_stage
from amuse_cli.synth.video import render_frames


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
