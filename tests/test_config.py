"""Recipes: base inheritance, dotted overrides, ~key, strict keys and types, registry checks."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from amuse_cli import config, registry
from amuse_cli.errors import ConfigError

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def recipes(tmp_path, toy_model):
    base = write(tmp_path / "base.yaml", {"name": "base", "data": {"root": "d"}, "model": {"name": "toy_for_config_tests"},
                                          "train": {"epochs": 7, "batch_size": 4}})
    child = write(tmp_path / "child.yaml", {"base": "base.yaml", "name": "child", "train": {"epochs": 3}})
    return base, child


@pytest.fixture
def toy_model():
    @registry.register("model", "toy_for_config_tests")
    def toy(vocab_size, *, hidden: int = 32, dropout: float = 0.1, rhythm: bool = True):
        return None
    yield
    registry._REGISTRY["model"].pop("toy_for_config_tests")


def test_precedence_defaults_base_recipe_cli(recipes):
    _, child = recipes
    cfg = config.load(child, ["train.batch_size=9"])
    assert cfg["name"] == "child"
    assert cfg["train"]["epochs"] == 3           # recipe over base
    assert cfg["train"]["batch_size"] == 9       # command line over base
    assert cfg["train"]["precision"] == "bf16"   # code default
    assert "base" not in cfg


def test_remove_key_restores_default(recipes):
    _, child = recipes
    assert config.load(child, ["~train.epochs"])["train"]["epochs"] == config.DEFAULTS["train"]["epochs"]


def test_unknown_key_names_dotted_path_and_suggestion(recipes):
    _, child = recipes
    with pytest.raises(ConfigError, match=r"unknown key 'train.epochz' \(did you mean 'train.epochs'\?\)"):
        config.load(child, ["train.epochz=3"])


def test_wrong_type_and_missing_value(recipes, tmp_path):
    _, child = recipes
    with pytest.raises(ConfigError, match="'train.epochs' must be int"):
        config.load(child, ["train.epochs=many"])
    bare = write(tmp_path / "bare.yaml", {"name": "x", "model": {"name": "toy_for_config_tests"}})
    with pytest.raises(ConfigError, match="missing required value 'data.root'"):
        config.load(bare)


def test_component_settings_checked_against_builder(recipes):
    _, child = recipes
    cfg = config.load(child, ["model.name=toy_for_config_tests", "model.hidden=64"])
    assert cfg["model"] == {"name": "toy_for_config_tests", "hidden": 64, "dropout": 0.1, "rhythm": True}
    with pytest.raises(ConfigError, match=r"unknown key 'model.hiden' \(did you mean 'model.hidden'\?\)"):
        config.load(child, ["model.name=toy_for_config_tests", "model.hiden=64"])
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        config.load(child, ["model.name=nope"])
    with pytest.raises(ConfigError, match="optim.lr"):
        config.load(child, ["optim.lrr=0.1"])


def test_base_loop_and_bad_yaml(tmp_path):
    write(tmp_path / "a.yaml", {"base": "b.yaml"})
    write(tmp_path / "b.yaml", {"base": "a.yaml"})
    with pytest.raises(ConfigError, match="loops"):
        config.read_recipe(tmp_path / "a.yaml")
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML at line"):
        config.read_recipe(tmp_path / "bad.yaml")


def test_override_values_parse_as_yaml():
    sets, removes = config.parse_overrides(["a.b=5", "a.c=[1, 2]", "d=null", "e=text", "~f.g"])
    assert sets == {"a": {"b": 5, "c": [1, 2]}, "d": None, "e": "text"} and removes == ["f.g"]


@pytest.mark.parametrize("recipe", sorted(RECIPES.rglob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_recipe_resolves(recipe):
    cfg = config.load(recipe)
    assert cfg["name"] and cfg["model"]["name"]
    # printed config is itself a valid recipe that resolves to the same thing
    assert config.resolve(yaml.safe_load(config.dump(cfg))) == cfg


def test_tiny_recipe_shares_features_with_amuse():
    assert config.load(RECIPES / "amuse-tiny.yaml")["features"] == config.load(RECIPES / "amuse.yaml")["features"]


def test_config_hash_ignores_seed(recipes):
    _, child = recipes
    assert config.config_hash(config.load(child, ["seed=1"])) == config.config_hash(config.load(child, ["seed=2"]))
