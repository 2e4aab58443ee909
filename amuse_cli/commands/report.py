"""`amuse report`: the per-question-type tables papers print, across runs."""
import click

from amuse_cli.commands.common import not_implemented


@click.command("report")
@click.argument("runs", nargs=-1, type=click.Path(file_okay=False))
@click.option("--split", default="test", show_default=True)
@click.option("--format", "fmt", default="rich", show_default=True, help="rich, md, csv, latex or json.")
@click.option("--out", type=click.Path(dir_okay=False))
@click.option("--reference", type=click.Choice(["v1", "v2", "none"]), default="none", show_default=True)
@click.option("--by", type=click.Choice(["type", "template", "answer"]), default="type", show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False))
@click.option("--ci", is_flag=True, help="95% bootstrap interval per cell.")
def command(runs, split, fmt, out, reference, by, plot, ci):
    """Accuracy per question type (micro-averaged), one row per run or recipe.

    \b
    Example:
      amuse report checkpoints/amuse-tiny --format md --reference none
    """
    not_implemented("amuse report", 6)
