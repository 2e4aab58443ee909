"""Recipes: base inheritance, dotted overrides, ~key, strict keys and types, registry checks."""
from __future__ import annotations

import shlex
import shutil
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
    with pytest.raises(ConfigError, match=r"~trian.epochs: unknown key 'trian' \(did you mean 'train'\?\)"):
        config.load(child, ["~trian.epochs"])                  # a typo must not remove nothing, silently
    with pytest.raises(ConfigError, match=r"unknown key 'train.epochz'"):
        config.load(child, ["~train.epochz"])


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


# --- the recipe path the user named travels with the resolved config (config.SOURCE) -------------------
def test_source_is_carried_but_never_printed_nor_hashed():
    cfg = config.load(RECIPES / "amuse-tiny.yaml")
    tagged = config.with_source(cfg, "my/recipe.yaml")
    assert tagged[config.SOURCE] == "my/recipe.yaml" and config.SOURCE not in cfg
    assert config.dump(tagged) == config.dump(cfg)
    assert config.config_hash(tagged) == config.config_hash(cfg)
    with pytest.raises(ConfigError, match="unknown key '_recipe'"):  # not a setting a recipe may hold
        config.resolve({**cfg, config.SOURCE: "x.yaml"})


def _missing_cache_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1 and errors[0] == lines[-1], result.stderr
    assert errors[0].startswith("error: no feature cache at "), errors[0]
    return errors[0]


def test_train_without_cache_names_the_users_recipe(tmp_path):
    """Through the CLI: the printed command names the recipe given to `amuse train` (a path with a space),
    keeps the overrides that shape the cache, and builds exactly the cache that was looked for."""
    from click.testing import CliRunner

    from amuse_cli.cli import cli
    from amuse_cli.features.settings import cache_dir
    folder = tmp_path / "my recipes"
    folder.mkdir()
    for name in ("amuse.yaml", "amuse-tiny.yaml"):
        shutil.copy(RECIPES / name, folder / name)
    recipe, cache, root = folder / "amuse-tiny.yaml", tmp_path / "no cache here", tmp_path / "data"
    overrides = [f"data.root={root}", f"features.cache={cache}", "features.frames=4", "optim.lr=2e-3",
                 "train.device=cpu"]
    result = CliRunner().invoke(cli, ["train", str(recipe), *overrides])
    line = _missing_cache_error(result)
    command = line.split("build it: ", 1)[1]
    words = shlex.split(command)
    assert words[:3] == ["amuse", "extract-features", str(recipe)]
    assert "<recipe>" not in line and "features.frames=4" in words and f"data.root={root}" in words
    assert not any(w.startswith(("optim.", "train.")) for w in words)  # only what shapes the cache
    rebuilt = config.load(words[2], words[3:])
    wanted = config.load(recipe, overrides)
    assert cache_dir(rebuilt) == cache_dir(wanted) and str(cache_dir(wanted)) in line


def test_missing_cache_command_without_source_uses_recipes_folder(tmp_path, monkeypatch):
    """A run's config.yaml, reloaded by `amuse eval`, carries no recipe path: the command names
    recipes/<name>.yaml, or the default recipe when there is none, plus every differing cache setting."""
    from amuse_cli.features.lookup import build_command
    from amuse_cli.features.settings import cache_dir
    from amuse_cli.paths import DEFAULT_RECIPE
    monkeypatch.chdir(RECIPES.parent)
    run_cfg = config.resolve(yaml.safe_load(config.dump(config.load(
        RECIPES / "amuse-tiny.yaml", [f"data.root={tmp_path}", f"features.cache={tmp_path / 'c'}",
                                      "features.n_mels=64"]))))
    words = shlex.split(build_command(run_cfg))
    assert words[2] == "recipes/amuse-tiny.yaml" and "features.n_mels=64" in words
    assert cache_dir(config.load(words[2], words[3:])) == cache_dir(run_cfg)
    renamed = {**run_cfg, "name": "gone-since"}  # its recipe file was renamed or deleted
    words = shlex.split(build_command(renamed))
    assert words[2] == DEFAULT_RECIPE and cache_dir(config.load(words[2], words[3:])) == cache_dir(renamed)
