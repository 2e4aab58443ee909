"""The CLI surface: help of every subcommand, one-line errors with exit 2, stats, print-config."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

SUBCOMMANDS = ["synth", "extract-features", "train", "eval", "predict", "report", "stats"]


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help_shows_an_example(run_cli, name):
    result = run_cli(name, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output and f"amuse {name}" in result.output


def test_stats_json_on_real_test_file(run_cli, real_annotations, real_facts):
    result = run_cli("stats", real_annotations / "avqa-test.json", "--format", "json")
    assert result.exit_code == 0
    stats = json.loads(result.output)
    facts = real_facts["avqa-test.json"]
    assert set(stats) == {"questions", "videos", "types", "templates", "answers", "wording"}
    assert stats["questions"] == facts["questions"] and stats["videos"] == facts["videos"]
    assert stats["types"]["Audio-Visual/Temporal"] == facts["types"]["Audio-Visual/Temporal"]


def test_stats_table(run_cli, real_annotations, real_facts):
    result = run_cli("stats", real_annotations / "avqa-val.json")
    assert result.exit_code == 0 and str(real_facts["avqa-val.json"]["questions"]) in result.output
    assert "Audio-Visual/Location" in result.output


def test_print_config_is_a_reusable_recipe(run_cli, tmp_path):
    result = run_cli("train", "recipes/amuse.yaml", "--print-config", "train.epochs=5")
    assert result.exit_code == 0
    cfg = yaml.safe_load(result.output)
    assert cfg["train"]["epochs"] == 5 and cfg["name"] == "amuse"
    saved = tmp_path / "saved.yaml"
    saved.write_text(result.output)
    again = run_cli("train", saved, "--print-config")
    assert yaml.safe_load(again.output) == cfg


@pytest.mark.parametrize("key", ["train.bogus_key", "optim.bogus_key"])
def test_unknown_key_is_one_line_exit_2(key):
    # through the real console entry point: no traceback, the dotted key named
    proc = subprocess.run([sys.executable, "-m", "amuse_cli", "train", "recipes/amuse.yaml", f"{key}=1"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert f"unknown key '{key}'" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_annotation_file_is_one_line(run_cli, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "amuse_cli", "stats", str(tmp_path / "nope.json")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_unknown_model_setting_is_one_line_exit_2():
    # model settings are the registered builder's keyword arguments, checked like every other key
    proc = subprocess.run([sys.executable, "-m", "amuse_cli", "train", "recipes/amuse.yaml", "model.bogus_key=1"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "model.bogus_key" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
