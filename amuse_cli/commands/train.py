"""`amuse train`: stage 1 (rhythm/source encoders) and stage 2 (QA) from one recipe."""
import click

from amuse_cli.commands.common import (dry_run_option, load_recipe, no_progress_option, overwrite_option,
                                       recipe_arguments)


@click.command("train")
@click.argument("recipe", type=click.Path(dir_okay=False))
@recipe_arguments
@click.option("--run-name", default=None, help="Run folder name under checkpoints/<recipe name>/.")
@click.option("--resume", default=None, help="'auto' (latest run of this recipe) or a run folder / checkpoint.")
@overwrite_option("an existing run folder of the same name")
@dry_run_option
@no_progress_option
def command(recipe, overrides, print_config, run_name, resume, overwrite, dry_run, no_progress):
    """Train a model from a YAML recipe.

    \b
    Examples:
      amuse train recipes/amuse-tiny.yaml
      amuse train recipes/amuse.yaml train.epochs=5 model.rhythm=false
      amuse train recipes/amuse-tiny.yaml --resume auto
      torchrun --standalone --nproc-per-node=gpu -m amuse_cli train recipes/amuse.yaml
    """
    if resume and (run_name or overwrite):
        raise click.UsageError("--resume continues an existing run: drop --run-name/--overwrite")
    cfg = load_recipe(recipe, overrides, print_config)
    from amuse_cli.engine import train as engine
    if dry_run:
        engine.dry_run(cfg)
        click.echo(f"ok: {recipe} resolves, its components exist and its cache is ready")
        return
    run = engine.train(cfg, run_name=run_name, resume=resume, overwrite=overwrite, progress=not no_progress,
                       argv=["amuse", "train", recipe, *overrides] + [f"--run-name={run_name}"] * bool(run_name)
                       + [f"--resume={resume}"] * bool(resume) + ["--overwrite"] * overwrite)
    click.echo(f"done: {run}  (next: amuse eval {run})")
