"""What `amuse synth` prints when it is done: the summary tables."""
from __future__ import annotations


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
