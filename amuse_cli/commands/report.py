"""`amuse report`: the per-question-type tables papers print, across runs."""
import click

from amuse_cli.commands.common import dry_run_option, split_option
from amuse_cli.report.reference import CHOICES
from amuse_cli.report.writers import WRITERS


@click.command("report")
@click.argument("runs", nargs=-1, type=click.Path(file_okay=False))
@split_option
@click.option("--format", "fmt", type=click.Choice(list(WRITERS)), default="rich", show_default=True,
              help="Table format.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the table to FILE instead of stdout.")
@click.option("--reference", type=click.Choice(CHOICES), default="auto",
              show_default=True,
              help="Add published MUSIC-AVQA rows beside runs evaluated on that dataset.")
@click.option("--by", type=click.Choice(["type", "template", "answer", "wording"]), default="type",
              show_default=True, help="answer: also writes <run>/report/confusion-<split>-<type>.csv; "
              "wording: template / seen / unseen rephrasings (synth --wording mixed).")
@click.option("--plot", type=click.Path(dir_okay=False),
              help="Bar chart per benchmark: .png, or .pdf/.svg (vector) for a paper (needs matplotlib).")
@click.option("--plot-published", metavar="TABLE[:METHOD],...",
              help="Published rows drawn by --plot (default: the first table --reference shows; 'none').")
@click.option("--curves", type=click.Path(dir_okay=False),
              help="Val accuracy and train loss per epoch of the runs (metrics.jsonl), .png/.pdf/.svg.")
@click.option("--ci", is_flag=True, help="95% bootstrap interval per cell.")
@dry_run_option
def command(runs, split, fmt, out, reference, by, plot, plot_published, curves, ci, dry_run):
    """Accuracy per question type (micro-averaged), one row per run or recipe.

    With no RUN, every run under checkpoints/ with predictions-SPLIT.jsonl; runs of one recipe that
    differ only in seed share a row (mean ± std, seeds counted).

    \b
    Example:
      amuse report checkpoints/amuse-tiny --format md --reference none
      amuse report --plot fig.pdf --curves curves.pdf
    """
    from amuse_cli import report
    from amuse_cli.atomic import write_atomic
    from amuse_cli.report import curves as training_curves
    from amuse_cli.report import plot as plotting

    write = report.get_writer(fmt)  # an unknown format fails before any work
    if plot_published and not plot:
        raise click.UsageError("--plot-published needs --plot")
    plotting.check_outputs(plot=plot, curves=curves)  # matplotlib there, file names it can write
    if curves:
        found = training_curves.read_curves(runs)
        click.echo(f"would draw {', '.join(c.name for c in found)} into {curves}" if dry_run else
                   f"wrote {training_curves.write(found, curves)}", err=not dry_run)
        if not training_curves.evaluated(runs, split):
            click.echo(f"note: no evaluated run (predictions-{split}.jsonl), so no table", err=True)
            return
    groups = report.find_runs(runs, split)
    if dry_run:
        for group in groups:
            click.echo(f"would report {', '.join(run.name for run in group)}")
        outputs = [out] * bool(out) + [plot] * bool(plot) + (["<run>/report/confusion-*.csv"] if by == "answer" else [])
        click.echo(f"would write {', '.join(map(str, outputs)) or 'the table to stdout'}")
        return
    rep = report.make_report(groups, by=by, reference=reference, ci=ci)
    text = write(rep)
    if out:
        click.echo(f"wrote {write_atomic(out, text)}", err=True)
    else:
        click.echo(text, nl=False)
    for path, body in rep.files.items():
        click.echo(f"wrote {write_atomic(path, body)}", err=True)
    if plot:
        for path in plotting.bar_charts(groups, plot, reference, ci, plot_published):
            click.echo(f"wrote {path}", err=True)
    for note in rep.notes:
        click.echo(f"note: {note}", err=True)
