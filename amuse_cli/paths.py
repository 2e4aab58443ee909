"""Default locations, relative to the working directory (the repository root in the quickstart)."""
DEFAULT_RECIPE = "recipes/amuse.yaml"
DEFAULT_SYNTH_DIR = "data/synth"        # where `amuse synth` writes and the recipes look
CHECKPOINTS_DIR = "checkpoints"         # run folders: checkpoints/<recipe name>/<run>/
