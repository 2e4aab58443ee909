"""Default locations, relative to the working directory (the repository root in the quickstart)."""
from pathlib import Path

DEFAULT_RECIPE = "recipes/amuse.yaml"   # found from any directory: see RECIPES_DIR and PACKAGE_RECIPES
DEFAULT_SYNTH_DIR = "data/synth"        # where `amuse synth` writes and the recipes look
CHECKPOINTS_DIR = "checkpoints"         # run folders: checkpoints/<recipe name>/<run>/

# A recipe argument that is not an existing file is looked up by name (`amuse-tiny`, `baselines/lavish`,
# `recipes/amuse.yaml`): first under ./recipes/ (in a checkout, a link to the package's recipes),
# then among the recipes installed with the package (package data: amuse_cli/recipes/).
RECIPES_DIR = "recipes"
PACKAGE_RECIPES = Path(__file__).resolve().parent / "recipes"
