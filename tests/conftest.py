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
