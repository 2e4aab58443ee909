"""`amuse extract-features`: decode every video once into the feature cache."""
import click

from amuse_cli.commands.common import load_recipe, not_implemented, recipe_arguments
from amuse_cli.paths import DEFAULT_RECIPE


@click.command("extract-features")
@click.argument("recipe", required=False, default=DEFAULT_RECIPE, type=click.Path(dir_okay=False))
@recipe_arguments
@click.option("--data", type=click.Path(file_okay=False), help="Dataset folder (overrides data.root).")
@click.option("--cache", type=click.Path(file_okay=False), help="Cache root (overrides features.cache).")
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--resume/--no-resume", default=True, show_default=True)
def command(recipe, overrides, print_config, data, cache, workers, resume):
    """Frames, log-mel windows and rhythm/source labels per video, cached on disk.

    \b
    Examples:
      amuse extract-features
      amuse extract-features recipes/amuse.yaml data.root=/data/MUSIC-AVQA --workers 8
    """
    load_recipe(recipe, overrides, print_config)
    not_implemented("amuse extract-features", 4)
