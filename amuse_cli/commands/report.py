"""`amuse report`: the per-question-type tables papers print, across runs."""
import click

from amuse_cli.report.reference import CHOICES


@click.command("report")
@click.argument("runs", nargs=-1, type=click.Path(file_okay=False))
@click.option("--split", default="test", show_default=True)
@click.option("--format", "fmt", default="rich", show_default=True, help="rich, md, csv, latex or json.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the table to FILE instead of stdout.")
@click.option("--reference", type=click.Choice(CHOICES), default="auto",
              show_default=True,
              help="Add published MUSIC-AVQA rows beside runs evaluated on that dataset.")
@click.option("--by", type=click.Choice(["type", "template", "answer"]), default="type", show_default=True,
              help="answer: also writes <run>/report/confusion-<split>-<type>.csv.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Grouped bar chart PNG (needs matplotlib).")
@click.option("--ci", is_flag=True, help="95% bootstrap interval per cell.")
def command(runs, split, fmt, out, reference, by, plot, ci):
    """Accuracy per question type (micro-averaged), one row per run or recipe.

    With no RUN, every run under checkpoints/ with predictions-SPLIT.jsonl; runs of one recipe that
    differ only in seed share a row (mean ± std, seeds counted).

    \b
    Example:
      amuse report checkpoints/amuse-tiny --format md --reference none
    """
    from amuse_cli import report
    from amuse_cli.report import plot as plotting
    from amuse_cli.report.tables import type_row

    write = report.get_writer(fmt)  # an unknown format fails before any work
    if plot:
        plotting.require_matplotlib()
    groups = report.find_runs(runs, split)
    rep = report.make_report(groups, by=by, reference=reference, ci=ci)
    text = write(rep)
    if out:
        click.echo(f"wrote {report.save_atomic(out, text)}", err=True)
    else:
        click.echo(text, nl=False)
    for path, body in rep.files.items():
        click.echo(f"wrote {report.save_atomic(path, body)}", err=True)
    if plot:
        rows = rep.data["runs"] if by == "type" else [type_row(g) for g in groups]
        click.echo(f"wrote {plotting.bar_chart(rows, plot)}", err=True)
    for note in rep.notes:
        click.echo(f"note: {note}", err=True)
