"""Shared fixtures: paths to the real MUSIC-AVQA annotation files and a CLI runner."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "music-avqa"


@pytest.fixture(scope="session")
def real_annotations() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real MUSIC-AVQA annotations not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def run_cli():
    """Invoke the real `amuse` click group; returns the click Result."""
    from amuse_cli.cli import cli

    def invoke(*args, **kw):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kw)
    return invoke


# --- amuse synth (issue 3): a tiny generated dataset shared by the suite -------------------------
TINY_SYNTH = dict(videos=12, seconds=6.0, size=(160, 120), fps=4, seed=3, questions_per_video=6,
                  split=(0.5, 0.25, 0.25), balanced=False, workers=2)


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory) -> Path:
    """Path of a tiny `amuse synth` dataset: 12 videos of 6 s at 160x120, 4 fps, 16 kHz mono;
    ~6 questions per video; train/val/test = 6/3/3 videos (videos/, json/, meta/, README.md)."""
    from amuse_cli.synth.generate import SynthOptions, generate

    out = tmp_path_factory.mktemp("synth") / "tiny"
    generate(SynthOptions(out=str(out), **TINY_SYNTH))
    return out
