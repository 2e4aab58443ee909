"""`amuse eval`: answer every question of a split with a run's best checkpoint."""
import click

from amuse_cli.commands.common import dry_run_option, run_overrides, split_option
from amuse_cli.data.taxonomy import COLUMNS


def _pct(acc) -> str:
    return "-" if acc is None else f"{acc:.2f}"


@click.command("eval")
@click.argument("run", type=click.Path(file_okay=False))
@run_overrides
@split_option
@click.option("--annotations", type=click.Path(dir_okay=False),
              help="Another annotation file to evaluate (outputs named after --split).")
@dry_run_option
def command(run, overrides, split, annotations, dry_run):
    """Write predictions-<split>.jsonl and metrics-<split>.json into the run folder.

    OVERRIDES (key=value) may say where the data and cache are now (data.*, features.cache, eval.*,
    train.device); the model's settings are the run's own.

    Every question of the split is answered (no deduplication by video); best.pt was selected on val.

    \b
    Example:
      amuse eval checkpoints/amuse-tiny/20261126-120000-1a2b3c4d --split test
      amuse eval checkpoints/amuse/<run> data.root=/data/MUSIC-AVQA data.skip_missing=true
    """
    from amuse_cli.engine.evaluate import check_evaluable, evaluate
    if dry_run:
        n, skipped = check_evaluable(run, split, annotations, overrides)
        click.echo(f"ok: {n} questions to answer ({skipped} without video); would write "
                   f"{run}/predictions-{split}.jsonl and {run}/metrics-{split}.json")
        return
    metrics = evaluate(run, split, annotations, overrides)
    cells = metrics["cells"]
    click.echo(f"{metrics['questions']} questions of {metrics['annotations']} "
               f"({metrics['release']['label']}; trained on {metrics['trained_on']}; "
               f"checkpoint {metrics['checkpoint']})")
    if metrics["release"].get("complete") is False:
        click.echo(f"a part of the released test file: {metrics['release']['evidence']}")
    if metrics["skipped_questions"]:
        click.echo(f"{metrics['skipped_questions']} questions had no video (data.skip_missing) and count as wrong")
    click.echo("  ".join(f"{c} {_pct(cells[c]['acc'])}" for c in COLUMNS))
    if "head_tail" in metrics:
        ht = metrics["head_tail"]
        click.echo(f"MUSIC-AVQA-R head {_pct(ht['head']['Avg']['acc'])}  tail {_pct(ht['tail']['Avg']['acc'])} "
                   f"(head/tail from {ht['labels']})")
    click.echo(f"wrote {run}/predictions-{split}.jsonl and {run}/metrics-{split}.json")
