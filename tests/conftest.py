"""Shared fixtures: paths to the real MUSIC-AVQA annotation files and a CLI runner."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "music-avqa"
V1_EXCERPT = REPO / "tests" / "data" / "music-avqa-v1"     # shipped: make test needs no ../shared
V1_FOLDERS = [V1_EXCERPT] + [SHARED_DATA] * SHARED_DATA.is_dir()


@pytest.fixture(scope="session", params=V1_FOLDERS, ids=lambda p: "excerpt" if p == V1_EXCERPT else "full")
def real_annotations(request) -> Path:
    """The real v1 annotation files: the excerpt under tests/data always, the full files of
    ../shared/data/music-avqa too when they are beside the checkout (tests/data/music-avqa-v1/README.md)."""
    return request.param


@pytest.fixture(scope="session")
def real_facts(real_annotations) -> dict:
    """{file name: {"questions", "videos", "templates", "types"}} of the files real_annotations gives."""
    import json
    facts = json.loads((V1_EXCERPT / "facts.json").read_text(encoding="utf-8"))
    return facts["excerpt" if real_annotations == V1_EXCERPT else "release"]


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


# --- amuse train / eval / predict (issue 5): the tiny recipe on tiny_synth, extracted and trained once ---
@pytest.fixture
def one_thread():
    """One intra-op thread: on a shared 2-core machine, OpenMP threads waiting for each other stall
    small ops many-fold. Restored afterwards."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TRAIN_FAST = ["train.epochs=2", "stage1.epochs=1", "train.batch_size=8", "train.questions_per_video=2",
              "eval.batch_size=16"]


@pytest.fixture(scope="session")
def tiny_features(tiny_synth, tmp_path_factory):
    """`amuse extract-features recipes/amuse-tiny.yaml` on tiny_synth through the CLI; returns
    (work dir for checkpoints/, the data/cache overrides every later command needs)."""
    from amuse_cli.cli import cli
    work = tmp_path_factory.mktemp("work")
    overrides = [f"data.root={tiny_synth}", f"features.cache={work / 'cache'}"]
    result = CliRunner().invoke(cli, ["extract-features", str(REPO / "recipes/amuse-tiny.yaml"), *overrides,
                                      "--workers", "1", "--no-progress"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return work, overrides


@pytest.fixture(scope="session")
def tiny_run(tiny_features):
    """A finished 2-epoch amuse-tiny run (checkpoints/amuse-tiny/fixture under the work dir)."""
    import os

    import torch
    from amuse_cli.cli import cli
    work, overrides = tiny_features
    old, threads = os.getcwd(), torch.get_num_threads()
    os.chdir(work)
    torch.set_num_threads(1)
    try:
        result = CliRunner().invoke(cli, ["train", str(REPO / "recipes/amuse-tiny.yaml"), *overrides, *TRAIN_FAST,
                                          "--run-name", "fixture", "--no-progress"], catch_exceptions=False)
    finally:
        os.chdir(old)
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    return work / "checkpoints" / "amuse-tiny" / "fixture", overrides


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A fresh working directory (runs go to its checkpoints/)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
