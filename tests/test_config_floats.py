"""Recipes and overrides read YAML 1.2's exponent floats (`2e-3`), which PyYAML's YAML 1.1 reads as strings."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from amuse_cli import config
from amuse_cli.cli import cli

REPO = Path(__file__).resolve().parents[1]
SPELLINGS = [("2e-3", 0.002), ("1e-4", 1e-4), ("2E+3", 2000.0), ("-5e-1", -0.5), ("+3e2", 300.0),
             ("1.5e3", 1500.0), (".5e-3", 0.0005), ("1.0e-3", 0.001)]


@pytest.mark.parametrize("text,value", SPELLINGS)
def test_recipe_file_reads_exponent_floats(tmp_path, text, value):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: r\ndata:\n  root: d\nmodel:\n  name: prior\nstage1:\n  lr: {text}\n"
                      f"optim:\n  name: adamw\n  lr: {text}\n")
    raw = config.read_recipe(recipe)
    assert type(raw["stage1"]["lr"]) is float and raw["stage1"]["lr"] == value
    assert type(raw["optim"]["lr"]) is float and raw["optim"]["lr"] == value
    cfg = config.load(recipe)  # stage1.lr is checked against the float default
    assert cfg["stage1"]["lr"] == value


@pytest.mark.parametrize("text,value", SPELLINGS)
def test_override_reads_exponent_floats(text, value):
    sets, _ = config.parse_overrides([f"optim.lr={text}", f"stage1.lr={text}"])
    assert type(sets["optim"]["lr"]) is float and sets["optim"]["lr"] == value
    cfg = config.load(REPO / "recipes/amuse-tiny.yaml", [f"stage1.lr={text}", f"optim.lr={text}"])
    assert cfg["stage1"]["lr"] == value and cfg["optim"]["lr"] == value


@pytest.mark.parametrize("text", ["1e", "e5", "1e-", "1e-4x", "1e 4", "E", "1.e"])
def test_non_numbers_stay_strings(text):
    sets, _ = config.parse_overrides([f"data.videos={text}"])
    assert sets["data"]["videos"] == text
    assert config.load_yaml(f"k: {text}") == {"k": text}


def test_pyyaml_safe_loader_is_not_changed():
    assert yaml.safe_load("lr: 1e-4") == {"lr": "1e-4"}      # YAML 1.1, as before
    assert config.load_yaml("lr: 1e-4") == {"lr": 1e-4}
    assert issubclass(config.RecipeLoader, yaml.SafeLoader) and config.RecipeLoader is not yaml.SafeLoader


def test_dump_loads_back_the_same_config(tmp_path):
    # a string that looks like an exponent float must come back a string, and floats come back floats
    recipe = tmp_path / "r.yaml"
    recipe.write_text("base: amuse-tiny.yaml\nname: '1e3'\ndata:\n  root: '2e5'\noptim:\n  name: adamw\n  lr: 3e-4\n")
    shutil.copy(REPO / "recipes/amuse-tiny.yaml", tmp_path / "amuse-tiny.yaml")
    shutil.copy(REPO / "recipes/amuse.yaml", tmp_path / "amuse.yaml")
    cfg = config.load(recipe)
    assert cfg["name"] == "1e3" and cfg["data"]["root"] == "2e5" and cfg["optim"]["lr"] == 3e-4
    text = config.dump(cfg)
    again = tmp_path / "again.yaml"
    again.write_text(text)
    assert config.load(again) == cfg
    assert config.resolve(config.load_yaml(text)) == cfg
    assert yaml.safe_load(text)["optim"]["lr"] == 3e-4  # plain PyYAML (report, eval) reads the dump alike


def test_cli_override_with_exponent_float_prints_a_float():
    result = CliRunner().invoke(cli, ["train", str(REPO / "recipes/amuse-tiny.yaml"), "optim.lr=2e-3",
                                      "stage1.lr=1E-4", "--print-config"])
    assert result.exit_code == 0, result.output
    printed = yaml.safe_load(result.stdout)
    assert type(printed["optim"]["lr"]) is float and printed["optim"]["lr"] == 0.002
    assert type(printed["stage1"]["lr"]) is float and printed["stage1"]["lr"] == 1e-4
    assert "  lr: 0.002\n" in result.stdout
    assert config.SOURCE not in result.stdout
