"""What `amuse synth` shows: a progress bar (terminal only) and the summary tables."""
from __future__ import annotations

import contextlib

import click


@contextlib.contextmanager
def progress_bar(total: int, enabled: bool = True):
    """Yields advance(); a rich bar on a terminal, a line every 10% otherwise."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    if enabled and console.is_terminal:
        with Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console) as bar:
            task = bar.add_task("videos", total=total)
            yield lambda: bar.advance(task)
        return
    done = [0]

    def advance():
        done[0] += 1
        if enabled and (done[0] == total or done[0] % max(1, total // 10) == 0):
            click.echo(f"rendered {done[0]}/{total} videos", err=True)
    yield advance


def print_summary(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    o = summary["options"]
    console.print(f"wrote [bold]{sum(summary['videos'].values())}[/] videos and "
                  f"[bold]{sum(summary['questions'].values())}[/] questions "
                  f"({summary['templates']} of 33 templates) to {o['out']} "
                  f"in {summary['seconds']:.1f} s with {summary['workers']} worker(s)")
    table = Table(title="questions per type")
    table.add_column("type")
    table.add_column("questions", justify="right")
    for t, n in summary["types"].items():
        table.add_row(t, str(n))
    console.print(table)
    console.print("split videos/questions: " + ", ".join(
        f"{s} {summary['videos'][s]}/{summary['questions'][s]}" for s in summary["videos"]))
