"""`amuse pretrain`: the streams and scene heads on frame-level truth of a separate synthetic set."""
import click

from amuse_cli.commands.common import dry_run_option, load_recipe, no_progress_option, recipe_arguments


@click.command("pretrain")
@click.argument("recipe", type=click.Path(dir_okay=False))
@recipe_arguments
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Perception file to write, e.g. checkpoints/pretrained/perception-tiny.pt.")
@dry_run_option
@no_progress_option
def command(recipe, overrides, print_config, out, dry_run, no_progress):
    """Pretrain the visual and audio streams (and their scene heads) for `model.weights=<file>`.

    \b
    Examples:
      amuse synth --out data/pretrain --videos 500 --seed 1 --questions-per-video 1
      amuse extract-features recipes/amuse-tiny.yaml data.root=data/pretrain
      amuse pretrain recipes/amuse-tiny.yaml --out checkpoints/pretrained/perception-tiny.pt
    """
    cfg = load_recipe(recipe, overrides, print_config)
    from amuse_cli.engine.pretrain import open_set, pretrain
    if dry_run:
        cache = open_set(cfg)
        click.echo(f"ok: {len(cache.videos)} videos of {cfg['pretrain']['root']} cached; would write {out}")
        return
    path = pretrain(cfg, out, progress=not no_progress)
    click.echo(f"done: {path}  (use it: model.weights={path})")
