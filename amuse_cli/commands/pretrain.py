"""`amuse pretrain`: the streams and scene heads on frame-level truth of a separate synthetic set."""
import click

from amuse_cli.commands.common import load_recipe, recipe_arguments


@click.command("pretrain")
@click.argument("recipe", type=click.Path(dir_okay=False))
@recipe_arguments
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Perception file to write, e.g. checkpoints/pretrained/perception-tiny.pt.")
@click.option("--no-progress", is_flag=True, help="No per-epoch lines.")
def command(recipe, overrides, print_config, out, no_progress):
    """Pretrain the visual and audio streams (and their scene heads) for `model.weights=<file>`.

    \b
    Examples:
      amuse synth --out data/pretrain --videos 500 --seed 1 --questions-per-video 1
      amuse extract-features recipes/amuse-tiny.yaml --data data/pretrain
      amuse pretrain recipes/amuse-tiny.yaml --out checkpoints/pretrained/perception-tiny.pt
    """
    cfg = load_recipe(recipe, overrides, print_config)
    from amuse_cli.engine.pretrain import pretrain
    path = pretrain(cfg, out, progress=not no_progress)
    click.echo(f"done: {path}  (use it: model.weights={path})")
