"""The real-data recipes on a stand-in MUSIC-AVQA layout (tiny_synth's mp4 files under the official
folder names, its questions as json_update/ files): the two overrides of docs/real-data.md are all a
user gives; source_method=none for users without tagger weights."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from amuse_cli.cli import cli
from test_features import tiny_cnn14

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_thread")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def stand_in(tiny_synth, tmp_path_factory):
    """(work dir, data root, tagger weights) laid out as the official downloads unpack."""
    work = tmp_path_factory.mktemp("real")
    root = work / "MUSIC-AVQA"
    ids = sorted(p.stem for p in (tiny_synth / "videos").glob("*.mp4"))
    for folder, part in (("MUSIC-AVQA-videos-Real", ids[:8]), ("MUCIS-AVQA-videos-Synthetic", ids[8:])):
        (root / folder).mkdir(parents=True)
        for vid in part:
            shutil.copy(tiny_synth / "videos" / f"{vid}.mp4", root / folder / f"{vid}.mp4")
    shutil.copytree(tiny_synth / "json", root / "json_update")          # no meta/: real data has none
    tiny_cnn14(work / "Cnn14_16k.pth")
    return work, root, work / "Cnn14_16k.pth"


def test_music_avqa_recipe_needs_only_the_data_root_and_tagger_weights(stand_in, monkeypatch):
    work, root, weights = stand_in
    monkeypatch.chdir(work)
    two = [f"data.root={root}", f"features.tagger_weights={weights}"]
    r = invoke("extract-features", REPO / "recipes/music-avqa.yaml", *two, "--workers", "1", "--no-progress")
    assert r.exit_code == 0, r.output
    manifest = json.loads(next((work / "cache").glob("MUSIC-AVQA-*/manifest.json")).read_text())
    assert manifest["complete"] and len(manifest["folders"]) == 2 and manifest["summary"]["videos_failed"] == 0
    # everything checks out up to the ImageNet weights, which amuse never downloads by itself
    r = invoke("train", REPO / "recipes/music-avqa.yaml", *two, "--dry-run")
    assert r.exit_code == 2 and "model.weights=DEFAULT needs" in r.output, r.output
    r = invoke("train", REPO / "recipes/music-avqa.yaml", *two, "model.weights=none", "--dry-run")
    assert r.exit_code == 0, r.output


def test_without_tagger_weights_sources_can_be_switched_off(stand_in, monkeypatch):
    work, root, _ = stand_in
    monkeypatch.chdir(work)
    none = [f"data.root={root}", "features.source_method=none"]
    r = invoke("extract-features", REPO / "recipes/music-avqa.yaml", *none, "--workers", "1", "--no-progress")
    assert r.exit_code == 0, r.output
    r = invoke("train", REPO / "recipes/music-avqa.yaml", *none, "model.weights=none", "--dry-run")
    assert r.exit_code == 2 and "model.source=false" in r.output.strip().splitlines()[-1]   # after the CPU warning
    assert "Traceback" not in r.output
    r = invoke("train", REPO / "recipes/music-avqa.yaml", *none, "model.weights=none", "model.source=false",
               "--dry-run")
    assert r.exit_code == 0, r.output
