"""`amuse eval`: answer every question of a split with a run's best checkpoint."""
import click

from amuse_cli.commands.common import not_implemented


@click.command("eval")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--split", default="test", show_default=True)
@click.option("--annotations", type=click.Path(dir_okay=False), help="Another annotation file to evaluate.")
def command(run, split, annotations):
    """Write predictions-<split>.jsonl and metrics-<split>.json into the run folder.

    \b
    Example:
      amuse eval checkpoints/amuse-tiny/20261126-120000-1a2b3c4d --split test
    """
    not_implemented("amuse eval", 5)
