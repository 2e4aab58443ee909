"""`amuse extract-features`: decode every video once into the feature cache."""
import os
import sys

import click
from rich.console import Console

from amuse_cli.commands.common import load_recipe, recipe_arguments
from amuse_cli.paths import DEFAULT_RECIPE


@click.command("extract-features")
@click.argument("recipe", required=False, default=DEFAULT_RECIPE, type=click.Path(dir_okay=False))
@recipe_arguments
@click.option("--data", type=click.Path(file_okay=False), help="Dataset folder (overrides data.root).")
@click.option("--cache", type=click.Path(file_okay=False), help="Cache root (overrides features.cache).")
@click.option("--encoder", help="Also pooled frame embeddings: resnet18 | swin_v2_t "
              "(features.encoder; weights: features.encoder_weights=FILE|DEFAULT).")
@click.option("--workers", type=int, default=None, help="Processes [default: CPU cores / torchrun ranks].")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Skip videos already cached (size-checked against the manifest).")
@click.option("--verify", is_flag=True, help="Also check each cached file's SHA-256 before skipping it.")
@click.option("--no-progress", is_flag=True, help="No progress bar or progress lines.")
def command(recipe, overrides, print_config, data, cache, encoder, workers, resume, verify, no_progress):
    """Frames, log-mel windows and rhythm/source labels per video, cached on disk.

    Exit code 0 when every video is cached, 1 when some failed (listed with their reasons).

    \b
    Examples:
      amuse extract-features
      amuse extract-features recipes/amuse.yaml data.root=/data/MUSIC-AVQA --workers 8
      torchrun --nproc-per-node=4 -m amuse_cli extract-features recipes/amuse.yaml
    """
    from amuse_cli.features import runner  # PyAV loads with the command that decodes, not the CLI
    if "=" in recipe or recipe.startswith("~"):    # `amuse extract-features key=value ...`
        recipe, overrides = DEFAULT_RECIPE, (recipe, *overrides)
    extra = [f"data.root={data}"] * bool(data) + [f"features.cache={cache}"] * bool(cache) \
        + [f"features.encoder={encoder}"] * bool(encoder)
    cfg = load_recipe(recipe, list(overrides) + extra, print_config)
    console = Console(soft_wrap=True)
    runner.ensure_synthetic(cfg, lambda msg: console.print(msg, highlight=False))
    if workers is None:
        workers = max(1, (os.cpu_count() or 1) // runner.dist_rank_world()[1])
    manifest = runner.run(cfg, workers=workers, resume=resume, verify=verify,
                          progress=runner.ProgressReporter(console, enabled=not no_progress))
    if runner.dist_rank_world()[0] == 0:
        runner.print_report(console, manifest)
    if manifest["summary"]["videos_failed"]:
        sys.exit(1)
