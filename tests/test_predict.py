"""`amuse predict`: a free-text question about one mp4 (unknown words -> <unk>), and a batch."""
from __future__ import annotations

import pytest

import json

from click.testing import CliRunner

from amuse_cli.cli import cli
from amuse_cli.data.taxonomy import ANSWERS
from amuse_cli.engine.predict import match_template

pytestmark = pytest.mark.usefixtures("one_thread")


def test_predict_one_video_free_text(tiny_run, tiny_synth):
    run, _ = tiny_run
    video = sorted((tiny_synth / "videos").glob("*.mp4"))[0]
    result = CliRunner().invoke(cli, ["predict", str(run), "--video", str(video),
                                      "--question", "Which instrument sounds first, maestro?"])
    assert result.exit_code == 0, result.output
    assert "maestro" in result.output and "<unk>" in result.output  # warned, then answered
    lines = [x for x in result.output.splitlines() if x.startswith("  ")]
    assert len(lines) == 5 and all(x.split()[0] in {a.replace(" ", "_") for a in ANSWERS} | set(ANSWERS)
                                   or x.strip().startswith("more than ten") for x in lines)
    answer = result.output.split("answer: ")[1].splitlines()[0]
    assert answer in ANSWERS and lines[0].strip().startswith(answer)


def test_predict_batch_matches_eval_and_reports_missing_videos(tiny_run, tiny_synth, tmp_path):
    run, _ = tiny_run
    records = json.loads((tiny_synth / "json/avqa-test.json").read_text())[:4]
    (tmp_path / "q.json").write_text(json.dumps(records))
    result = CliRunner().invoke(cli, ["predict", str(run), "--annotations", str(tmp_path / "q.json"),
                                      "--video-dir", str(tiny_synth / "videos")])
    assert result.exit_code == 0, result.output
    assert "4 answered" in result.output and "0 failed" in result.output
    # the same questions through eval's cached features give the same answers
    CliRunner().invoke(cli, ["eval", str(run), "--split", "four", "--annotations", str(tmp_path / "q.json")])
    evald = [json.loads(x)["prediction"] for x in (run / "predictions-four.jsonl").read_text().splitlines()]
    predicted = [x.split("\t")[2].rsplit(" (", 1)[0] for x in result.output.splitlines() if x.count("\t") == 3]
    assert sorted(predicted) == sorted(evald)
    records[0]["video_id"] = "99999999"
    (tmp_path / "q.json").write_text(json.dumps(records))
    result = CliRunner().invoke(cli, ["predict", str(run), "--annotations", str(tmp_path / "q.json"),
                                      "--video-dir", str(tiny_synth / "videos")])
    assert result.exit_code == 1 and "1 failed" in result.output and "99999999" in result.output


def test_missing_video_is_one_line_and_templates_are_recognised(tiny_run, tmp_path):
    result = CliRunner().invoke(cli, ["predict", str(tiny_run[0]), "--video", str(tmp_path / "nope.mp4"),
                                      "--question", "Is there a voiceover?"])
    assert result.exit_code == 2 and "not found" in result.output and "Traceback" not in result.output
    assert match_template("Is the violin louder than the cello".split()) >= 0
    assert match_template("Is the banana louder than the cello".split()) == -1


def test_predict_batch_finds_any_video_suffix_and_makes_flips(tiny_run, tiny_synth, tmp_path):
    run, _ = tiny_run
    records = json.loads((tiny_synth / "json/avqa-test.json").read_text())[:2]
    videos = tmp_path / "videos"
    videos.mkdir()
    first, second = records[0]["video_id"], records[1]["video_id"]
    (videos / f"{first}.mkv").write_bytes((tiny_synth / "videos" / f"{first}.mp4").read_bytes())   # mp4 inside
    (videos / f"{second}.mp4").write_bytes((tiny_synth / "videos" / f"{second}.mp4").read_bytes())
    records[1] = dict(records[1], video_id=f"{second}_flip")             # v2.0's mirrored copy, no file
    (tmp_path / "q.json").write_text(json.dumps(records))
    result = CliRunner().invoke(cli, ["predict", str(run), "--annotations", str(tmp_path / "q.json"),
                                      "--video-dir", str(videos)])
    assert result.exit_code == 0, result.output
    assert "2 answered" in result.output and "0 failed" in result.output
    from amuse_cli.engine.predict import Predictor
    pred = Predictor(run)
    plain = pred.video(videos / f"{second}.mp4")["frames"].copy()
    assert (pred.video(videos / f"{second}.mp4", flip=True)["frames"] == plain[..., ::-1]).all()
