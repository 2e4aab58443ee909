"""`amuse train`: stage 1 (rhythm/source encoders) and stage 2 (QA) from one recipe."""
import click

from amuse_cli.commands.common import load_recipe, not_implemented, recipe_arguments


@click.command("train")
@click.argument("recipe", type=click.Path(dir_okay=False))
@recipe_arguments
@click.option("--run-name", default=None, help="Run folder name under checkpoints/<recipe name>/.")
@click.option("--resume", default=None, help="'auto' (latest run of this recipe) or a run folder / checkpoint.")
@click.option("--dry-run", is_flag=True, help="Check the recipe, paths and registry names, then exit.")
@click.option("--no-progress", is_flag=True, help="Plain log lines instead of a progress bar.")
def command(recipe, overrides, print_config, run_name, resume, dry_run, no_progress):
    """Train a model from a YAML recipe.

    \b
    Examples:
      amuse train recipes/amuse-tiny.yaml
      amuse train recipes/amuse.yaml train.epochs=5 model.rhythm=false
      torchrun --standalone --nproc-per-node=gpu -m amuse_cli train recipes/amuse.yaml
    """
    load_recipe(recipe, overrides, print_config)
    not_implemented("amuse train", 5)
