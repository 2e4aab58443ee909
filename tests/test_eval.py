"""`amuse eval`: every question of the split answered, the files of docs/INTERFACES.md §3, metrics
that recompute from the predictions, best.pt chosen on val."""
from __future__ import annotations

import pytest

import hashlib
import json

from click.testing import CliRunner

from amuse_cli.cli import cli
from amuse_cli.data.annotations import load_annotations
from amuse_cli.data.metrics import cells_from_predictions

KEYS = {"key", "video_id", "question_id", "group", "type", "template", "wording", "question", "answer", "prediction",
        "correct", "top5"}

pytestmark = pytest.mark.usefixtures("one_thread")


def test_eval_answers_every_question_and_metrics_recompute(tiny_run, tiny_synth):
    run, _ = tiny_run
    result = CliRunner().invoke(cli, ["eval", str(run), "--split", "test"])
    assert result.exit_code == 0, result.output
    records = load_annotations(tiny_synth / "json/avqa-test.json")
    preds = [json.loads(x) for x in (run / "predictions-test.jsonl").read_text().splitlines()]
    assert [p["key"] for p in preds] == [r.key for r in records]  # every question, file order, no dedup
    assert len({p["video_id"] for p in preds}) < len(preds)
    for p in preds:
        assert set(p) == KEYS and len(p["top5"]) == 5 and p["prediction"] == p["top5"][0][0]
        assert p["correct"] == (p["prediction"] == p["answer"])
        probs = [q for _, q in p["top5"]]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1.0 + 1e-4
    metrics = json.loads((run / "metrics-test.json").read_text())
    assert metrics["split"] == "test" and metrics["questions"] == len(records)
    assert metrics["benchmark"] == "synthetic" and metrics["checkpoint"].endswith("best.pt")
    # the scored file, identified from its content (meta/ beside json/), not the recipe's data.benchmark
    test_file = tiny_synth / "json/avqa-test.json"
    assert metrics["annotations"] == str(test_file) and metrics["trained_on"] == "synthetic"
    assert metrics["sha256"] == hashlib.sha256(test_file.read_bytes()).hexdigest()
    assert (metrics["release"]["id"], metrics["release"]["split"]) == ("synthetic", "test")
    assert metrics["cells"] == cells_from_predictions(preds)
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if '"qa"' in x]
    accs = [r["val_acc"] for r in rows]
    assert metrics["epoch"] == 1 + accs.index(max(accs))  # the val-selected epoch, never test


def test_eval_of_another_annotation_file_and_a_bad_run_folder(tiny_run, tiny_synth, tmp_path):
    run, _ = tiny_run
    subset = json.loads((tiny_synth / "json/avqa-val.json").read_text())[:5]
    (tmp_path / "five.json").write_text(json.dumps(subset))
    result = CliRunner().invoke(cli, ["eval", str(run), "--split", "five", "--annotations", str(tmp_path / "five.json")])
    assert result.exit_code == 0, result.output
    assert len((run / "predictions-five.jsonl").read_text().splitlines()) == 5
    five = json.loads((run / "metrics-five.json").read_text())
    assert five["cells"]["Avg"]["n"] == 5 and five["questions"] == 5
    # a hand-cut file is no release: said so, never labelled with the recipe's benchmark
    assert five["release"]["id"] == "unknown" and five["benchmark"] == "unknown (five.json)"
    bad = CliRunner().invoke(cli, ["eval", str(tmp_path)])
    assert bad.exit_code == 2 and "not a run folder" in bad.output


def test_a_checkpoint_of_another_model_version_is_one_line(tiny_run, tmp_path):
    """A run trained before the model changed shape (here: the old one-output source head) says so."""
    import shutil

    import torch
    run, _ = tiny_run
    old = tmp_path / "old-run"
    shutil.copytree(run, old)
    for name in ("best.pt", "last.pt"):
        state = torch.load(old / name, weights_only=True)
        key = next(k for k in state["model"] if k.endswith("source_audio.head.weight"))
        state["model"][key] = state["model"][key][:1]
        torch.save(state, old / name)
    result = CliRunner().invoke(cli, ["eval", str(old), "--split", "test"])
    assert result.exit_code == 2, result.output
    assert "does not fit this version of the model" in result.output and "git.txt" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_missing_videos_fail_or_count_as_wrong_and_only_where_settings_change(tiny_run, tiny_synth, tmp_path):
    run, _ = tiny_run
    rows = json.loads((tiny_synth / "json/avqa-val.json").read_text())[:4]
    gone = dict(rows[0], video_id="00099999", question_id=10 ** 6)      # an offline video
    (tmp_path / "gone.json").write_text(json.dumps(rows + [gone]))
    args = ["eval", str(run), "--split", "gone", "--annotations", str(tmp_path / "gone.json")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "data.skip_missing=true" in result.output and "00099999" in result.output
    result = CliRunner().invoke(cli, [*args, "data.skip_missing=true"])
    assert result.exit_code == 0, result.output
    assert "1 questions had no video" in result.output
    metrics = json.loads((run / "metrics-gone.json").read_text())
    assert metrics["questions"] == 5 and metrics["skipped_questions"] == 1 and metrics["cells"]["Avg"]["n"] == 5
    preds = [json.loads(x) for x in (run / "predictions-gone.jsonl").read_text().splitlines()]
    assert preds[-1]["prediction"] is None and preds[-1]["correct"] is False and preds[-1]["skipped"]
    assert metrics["cells"] == cells_from_predictions(preds)
    refused = CliRunner().invoke(cli, ["eval", str(run), "optim.lr=1"])
    assert refused.exit_code == 2 and "optim.lr" in refused.output and "cannot change" in refused.output


def test_trained_on_reads_the_runs_own_config_not_evals_overrides(tiny_run, tmp_path):
    from amuse_cli.engine.evaluate import trained_on
    import yaml
    run, _ = tiny_run
    assert trained_on(run)[0] == "synthetic"        # its train file is at hand: identified from content
    saved = yaml.safe_load((run / "config.yaml").read_text())
    saved["data"].update(root=str(tmp_path / "moved"), benchmark="music-avqa")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(saved))
    assert trained_on(tmp_path) == ("music-avqa", saved["data"]["train"])   # gone: the recipe's word, no guess
