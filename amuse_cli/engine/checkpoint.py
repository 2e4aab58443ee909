"""Checkpoints written atomically (amuse_cli.atomic: tmp file + fsync + os.replace): a failed or interrupted write
never replaces the previous good file. Only tensors and plain types, so weights_only loading works."""
from __future__ import annotations

from pathlib import Path

import torch

from amuse_cli.atomic import atomic_path
from amuse_cli.errors import AmuseError


class CheckpointError(AmuseError):
    """A checkpoint could not be written or read."""


def save(state: dict, path: str | Path) -> None:
    path = Path(path)
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            torch.save(state, f)
    except OSError as e:
        kept = f"the previous {path.name} is intact" if path.exists() else f"no earlier {path.name} existed"
        raise CheckpointError(f"could not write checkpoint {path}: {e.strerror or e}; {kept}; free disk space "
                              f"in {path.parent} and continue with --resume {path.parent}") from None


def load(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found; train first (amuse train <recipe>)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated or foreign file
        raise CheckpointError(f"checkpoint {path} cannot be read ({type(e).__name__}: {str(e)[:120]}); "
                              f"use another checkpoint of the run (last.pt, best.pt, epoch_NNN.pt)") from None


def restore(model, state: dict, path: str | Path) -> None:
    """Load a checkpoint's weights; one line, not a traceback, when they belong to another model version."""
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as e:
        lines = str(e).splitlines()
        first = (lines[1] if len(lines) > 1 else lines[0]).strip().split(": copying")[0]
        first = first if len(first) <= 120 else first[:117] + "..."
        raise CheckpointError(f"checkpoint {path} does not fit this version of the model ({first}); it "
                              f"was written by another amuse version (its run folder's git.txt names the "
                              f"commit): retrain, or check out that commit to use it") from None
