"""Packaging: one version, compatible torch ranges with the tested triple in constraints.txt, and the
recipes shipped as package data and found by name from any directory (`amuse train amuse-tiny`)."""
from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import amuse_cli
from amuse_cli import config
from amuse_cli.errors import ConfigError
from amuse_cli.paths import DEFAULT_RECIPE, PACKAGE_RECIPES

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGE = Path(amuse_cli.__file__).resolve().parent
RECIPE_FILES = sorted(p.relative_to(PACKAGE_RECIPES).as_posix() for p in PACKAGE_RECIPES.rglob("*.yaml"))
TORCH_TRIPLE = {"torch": "2.11.0", "torchvision": "0.26.0", "torchaudio": "2.11.0"}


def _requirement(spec: str) -> tuple[str, str]:
    name = re.match(r"[A-Za-z0-9_.-]+", spec).group(0)
    return name.lower(), spec[len(name):].strip()


# --- one version, one place ----------------------------------------------------------------------

def test_version_is_defined_once():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "amuse_cli.__version__"}
    assert not (REPO / "setup.py").exists() and not (REPO / "setup.cfg").exists()
    assert re.fullmatch(r"\d+\.\d+\.\d+", amuse_cli.__version__)


def test_installed_metadata_agrees_with_the_package_version():
    from importlib import metadata
    try:
        installed = metadata.version("amuse")
    except metadata.PackageNotFoundError:
        pytest.skip("amuse is not installed (run from a PYTHONPATH checkout)")
    assert installed == amuse_cli.__version__


def test_console_script_and_extras():
    assert PYPROJECT["project"]["scripts"] == {"amuse": "amuse_cli.cli:main"}
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"pytest", "matplotlib"} <= {_requirement(s)[0] for s in extras["test"]}
    assert {_requirement(s)[0] for s in extras["plot"]} == {"matplotlib"}


# --- torch: ranges in the library, the tested triple in constraints.txt, one pip command ---------

def test_torch_ranges_admit_the_tested_triple():
    from packaging.requirements import Requirement
    deps = {Requirement(s).name: Requirement(s) for s in PYPROJECT["project"]["dependencies"]}
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, spec = _requirement(line)
            pins[name] = spec
    assert pins == {name: f"=={v}" for name, v in TORCH_TRIPLE.items()}
    for name, version in TORCH_TRIPLE.items():
        spec = deps[name].specifier
        assert not any(s.operator in ("==", "===") for s in spec), f"{name} is pinned in pyproject.toml"
        assert spec.contains(version), f"{name} {spec} excludes the tested {version}"


def test_makefile_installs_the_triple_in_one_pip_command_with_the_constraints():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    installs = [line for line in makefile.splitlines() if re.search(r"pip install", line) and "-e" in line]
    assert len(installs) == 1, installs
    assert "-c constraints.txt" in installs[0] and ".[test]" in installs[0]
    assert re.search(r"^\$\(STAMP\): pyproject\.toml constraints\.txt", makefile, re.M)
    assert "setup.py" not in makefile


# --- recipes as package data -----------------------------------------------------------------------

def test_package_data_ships_every_recipe():
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["amuse_cli"]
    shipped = {Path(f).as_posix() for pat in patterns for f in glob.glob(pat, root_dir=PACKAGE, recursive=True)}
    assert RECIPE_FILES and {f"recipes/{r}" for r in RECIPE_FILES} <= shipped
    assert "reference/results.yaml" in shipped
    assert "baselines/lavish.yaml" in RECIPE_FILES


def test_checkout_recipes_folder_is_the_package_folder():
    link = REPO / "recipes"
    if not link.exists():
        pytest.skip("not a checkout")
    assert link.resolve() == PACKAGE_RECIPES.resolve()
    assert (REPO / DEFAULT_RECIPE).is_file()


@pytest.fixture
def outside(tmp_path, monkeypatch):
    """cwd: an empty folder outside the checkout (no ./recipes)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", ["amuse-tiny", "amuse-tiny.yaml", "recipes/amuse-tiny.yaml", "recipes/amuse-tiny"])
def test_bare_name_found_outside_the_checkout(outside, name):
    assert config.find_recipe(name).resolve() == PACKAGE_RECIPES / "amuse-tiny.yaml"


def test_default_recipe_found_outside_the_checkout(outside):
    assert config.find_recipe(DEFAULT_RECIPE).resolve() == PACKAGE_RECIPES / "amuse.yaml"
    assert config.find_recipe("baselines/lavish").resolve() == PACKAGE_RECIPES / "baselines" / "lavish.yaml"


@pytest.mark.parametrize("recipe", RECIPE_FILES)
def test_every_packaged_recipe_loads_by_name(outside, recipe):
    """`base:` chains resolve from the package location, and by name gives what the file gives."""
    name = recipe.removesuffix(".yaml")
    by_name = config.load(name, check_required=False)
    assert by_name == config.load(PACKAGE_RECIPES / recipe, check_required=False)
    assert by_name["name"] == yaml.safe_load((PACKAGE_RECIPES / recipe).read_text())["name"]


def test_lookup_order_path_then_cwd_recipes_then_package(outside):
    (outside / "recipes").mkdir()
    (outside / "recipes" / "amuse-tiny.yaml").write_text("base: amuse.yaml\nname: mine\n")
    (outside / "recipes" / "amuse.yaml").write_text("name: local-base\ndata: {root: here}\n")
    (outside / "amuse-tiny").write_text("name: given\n")
    assert config.find_recipe("amuse-tiny") == Path("amuse-tiny")         # an existing path as given
    assert config.find_recipe("amuse-tiny.yaml") == Path("recipes/amuse-tiny.yaml")  # then ./recipes/
    assert config.read_recipe("recipes/amuse-tiny")["data"] == {"root": "here"}  # base: next to the file
    assert config.find_recipe("baselines/lavish").resolve() == PACKAGE_RECIPES / "baselines" / "lavish.yaml"
    assert "mine" not in config.recipe_names() and "amuse-tiny" in config.recipe_names()


def test_unknown_recipe_is_one_line_listing_the_names(outside):
    with pytest.raises(ConfigError) as e:
        config.load("amuse-tinny")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("recipe amuse-tinny not found")
    assert "available: " in msg and all(n in msg for n in ("amuse-tiny", "baselines/lavish", "music-avqa-v2"))


def test_missing_base_names_the_recipe(tmp_path):
    (tmp_path / "child.yaml").write_text("base: gone.yaml\nname: child\n")
    with pytest.raises(ConfigError, match=r"child\.yaml: its base .*gone\.yaml not found"):
        config.read_recipe(tmp_path / "child.yaml")


def test_cli_takes_a_bare_name(outside):
    from amuse_cli.cli import cli
    result = CliRunner().invoke(cli, ["train", "baselines/lavish", "--print-config"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.output)["name"] == "lavish"
    result = CliRunner().invoke(cli, ["train", "no-such-recipe"])
    assert result.exit_code == 2 and "available: " in result.output


def test_real_cli_from_outside_the_checkout(tmp_path):
    """`python -m amuse_cli train amuse-tiny --print-config` in a folder with no recipes/."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE.parent),
                                                                       os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-m", "amuse_cli", "train", "amuse-tiny", "--print-config"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert yaml.safe_load(out.stdout)["name"] == "amuse-tiny"
