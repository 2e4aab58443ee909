"""Models chosen by name in recipes (`model: {name: amuse, ...}`); importing registers them."""
from amuse_cli.models import amuse, baselines  # noqa: F401  (registration)
from amuse_cli.models.inputs import ModelSpec

__all__ = ["ModelSpec"]
