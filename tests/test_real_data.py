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


# the real updated v1 test file: its excerpt under tests/data (make test needs no ../shared)
REAL_TEST = REPO / "tests" / "data" / "music-avqa-v1" / "avqa-test.json"
CPU_SIZED = ["model.size=tiny", "model.weights=none", "train.epochs=1", "stage1.epochs=1", "train.precision=fp32",
             "train.batch_size=8", "train.num_workers=0", "eval.batch_size=16"]


@pytest.fixture(scope="module")
def real_format(tmp_path_factory):
    """Stand-ins in the real videos' format (60 s, 25 fps, stereo AAC 44.1 kHz) under the official
    folder names and real ids; the excerpt of the real updated v1 test file where the release puts
    it (json_update/); a v2.0 test file with one `_flip` id; one video of the annotations missing
    (as YouTube clips go offline)."""
    import numpy as np
    from test_media import write_mp4
    work = tmp_path_factory.mktemp("realfmt")
    root = work / "MUSIC-AVQA"
    rows = json.loads(REAL_TEST.read_text())
    ids = list(dict.fromkeys(r["video_id"] for r in rows))[:3]
    present, missing = ids[:2], ids[2]
    t = np.arange(int(60 * 44100)) / 44100
    for vid, folder in zip(present, ("MUSIC-AVQA-videos-Real", "MUCIS-AVQA-videos-Synthetic")):
        (root / folder).mkdir(parents=True)
        clicks = (0.3 * np.sin(2 * np.pi * 330 * t) * np.exp(-8 * ((t * 2) % 1))).astype(np.float32)
        write_mp4(root / folder / f"{vid}.mp4", seconds=60.0, fps=25, size=(96, 64), sr=44100, layout="stereo",
                  audio=np.stack([clicks, 0.5 * clicks]))
    (root / "MUSIC-AVQA-v2.0-videos").mkdir()
    mine = [r for r in rows if r["video_id"] in ids]
    (root / "json_update").mkdir()
    for split in ("train", "val"):
        (root / "json_update" / f"avqa-{split}.json").write_text(json.dumps(mine))
    shutil.copy(REAL_TEST, root / "json_update" / "avqa-test.json")         # the released file itself
    v2 = root / "v2.0" / "balance_full_set"
    v2.mkdir(parents=True)
    flip = [dict(r, video_id=f"{present[0]}_flip") for r in mine if r["video_id"] == present[0]]
    youtube = {k: v for k, v in mine[0].items() if k != "question_id"} | {"video_id": "tOcOiTFQYp4"}  # offline
    for name in ("train_balance.json", "test_balance.json"):      # v2.0 ships no val file
        (v2 / name).write_text(json.dumps(mine + flip + [youtube]))
    tiny_cnn14(work / "Cnn14_16k.pth")
    return work, root, work / "Cnn14_16k.pth", present, missing


def test_the_guides_commands_end_to_end_on_real_format_stand_ins(real_format, monkeypatch):
    """docs/real-data.md's commands with its two overrides (plus CPU-sized model settings: the
    recipes are GPU recipes): every v1 and v2.0 figure labelled by the file it was scored on."""
    work, root, weights, present, missing = real_format
    monkeypatch.chdir(work)
    two = [f"data.root={root}", f"features.tagger_weights={weights}"]
    r = invoke("extract-features", REPO / "recipes/music-avqa.yaml", *two, "--workers", "1", "--no-progress")
    assert r.exit_code == 0, r.output
    r = invoke("train", REPO / "recipes/music-avqa.yaml", *two, *CPU_SIZED, "--run-name", "v1", "--no-progress")
    assert r.exit_code == 2 and f"video {missing}" in r.output and "data.skip_missing=true" in r.output
    assert not (work / "checkpoints/music-avqa/v1").exists()
    r = invoke("train", REPO / "recipes/music-avqa.yaml", *two, *CPU_SIZED, "data.skip_missing=true",
               "--run-name", "v1", "--no-progress")
    assert r.exit_code == 0, r.output
    run = work / "checkpoints/music-avqa/v1"
    r = invoke("eval", run)
    assert r.exit_code == 0 and "MUSIC-AVQA v1, updated release" in r.output, r.output
    m = json.loads((run / "metrics-test.json").read_text())
    n = len(json.loads(REAL_TEST.read_text()))
    assert m["release"]["id"] == "music-avqa-v1-updated" and m["questions"] == n
    assert m["release"]["complete"] is False and "of the released test file's 9,129" in m["release"]["evidence"]
    answered = sum(1 for x in json.loads(REAL_TEST.read_text()) if x["video_id"] in present)
    assert m["skipped_questions"] == n - answered and m["cells"]["Avg"]["n"] == n
    # v2.0: a third folder, the flipped copy made from its original, the balanced test file
    r = invoke("extract-features", REPO / "recipes/music-avqa-v2.yaml", *two, "--workers", "1", "--no-progress")
    assert r.exit_code == 0, r.output
    manifest = json.loads(next((work / "cache").glob("MUSIC-AVQA-*/manifest.json")).read_text())
    assert len(manifest["folders"]) == 3 and manifest["videos"][f"{present[0]}_flip"]["status"] == "ok"
    v2_test = root / "v2.0/balance_full_set/test_balance.json"
    r = invoke("eval", run, "--split", "test-v2", "--annotations", v2_test)
    assert r.exit_code == 0, r.output
    assert json.loads((run / "metrics-test-v2.json").read_text())["release"]["id"] == "music-avqa-v2-balanced"
    r = invoke("report", run, "--split", "test", "--format", "md")
    assert r.exit_code == 0 and "music-avqa-v1-updated" in r.output and "83.52" in r.output    # Amuse, Table 2
    assert "85.16" not in r.output and "| music-avqa/v1 * |" in r.output and "do not compare" in r.output
    assert "Skipped (no video; counted wrong)" in r.output
    r = invoke("report", run, "--split", "test-v2", "--format", "md")
    assert r.exit_code == 0 and "music-avqa-v2-balanced" in r.output and "85.16" in r.output   # Amuse, Table 3
    assert "83.52" not in r.output
