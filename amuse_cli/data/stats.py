"""Counts over annotation files, for `amuse stats`."""
from __future__ import annotations

from collections import Counter

from amuse_cli.data.annotations import load_annotations
from amuse_cli.data.taxonomy import ANSWERS, TEMPLATES, TYPES


def annotation_stats(files, free_text: bool = False) -> dict:
    records = [r for f in files for r in load_annotations(f, free_text=free_text)]
    types = Counter(r.type_key for r in records)
    templates = Counter(r.template for r in records)
    answers = Counter(r.answer for r in records)
    order = list(TEMPLATES)
    return {
        "questions": len(records),
        "videos": len({r.video_id for r in records}),
        "types": {f"{g}/{t}": types.get(f"{g}/{t}", 0) for g, t in TYPES},
        "templates": dict(sorted(templates.items(),
                                 key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))),
        "answers": {a: answers[a] for a in ANSWERS if answers[a]},
    }


def print_stats(stats: dict, files) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{stats['questions']}[/] questions on [bold]{stats['videos']}[/] videos "
                  f"in {', '.join(map(str, files))}")
    for title, key in (("question type", "types"), ("template", "templates"), ("answer", "answers")):
        table = Table(title=f"questions per {title}")
        table.add_column(title)
        table.add_column("questions", justify="right")
        table.add_column("share", justify="right")
        for name, n in stats[key].items():
            table.add_row(name, str(n), f"{100.0 * n / max(stats['questions'], 1):.2f}%")
        console.print(table)
