"""`amuse eval`: answer every question of a split with a run's best checkpoint."""
import click

from amuse_cli.data.taxonomy import COLUMNS


@click.command("eval")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--split", default="test", show_default=True)
@click.option("--annotations", type=click.Path(dir_okay=False),
              help="Another annotation file to evaluate (outputs named after --split).")
def command(run, split, annotations):
    """Write predictions-<split>.jsonl and metrics-<split>.json into the run folder.

    Every question of the split is answered (no deduplication by video); best.pt was selected on val.

    \b
    Example:
      amuse eval checkpoints/amuse-tiny/20261126-120000-1a2b3c4d --split test
    """
    from amuse_cli.engine.evaluate import evaluate
    metrics = evaluate(run, split, annotations)
    cells = metrics["cells"]
    click.echo(f"{metrics['questions']} questions of {metrics['annotations']} (checkpoint {metrics['checkpoint']})")
    click.echo("  ".join(f"{c} {cells[c]['acc']:.2f}" if cells[c]["acc"] is not None else f"{c} -"
                         for c in COLUMNS))
    click.echo(f"wrote {run}/predictions-{split}.jsonl and {run}/metrics-{split}.json")
