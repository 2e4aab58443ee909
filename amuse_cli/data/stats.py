"""Counts over annotation files, for `amuse stats`."""
from __future__ import annotations

from collections import Counter

from amuse_cli.data.annotations import load_annotations
from amuse_cli.data.taxonomy import ANSWERS, TEMPLATES, TYPES
from amuse_cli.data.wordings import FREE, KINDS, SEEN, UNSEEN


def annotation_stats(files, free_text: bool = False) -> dict:
    per_file = [(str(f), load_annotations(f, free_text=free_text)) for f in files]
    records = [r for _, recs in per_file for r in recs]
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
        "wording": [{"file": name, **wording_stats(recs)} for name, recs in per_file],
    }


def wording_stats(records) -> dict:
    """Questions per wording (template, seen / unseen rephrasing, free text) and how many distinct
    texts each rephrased kind asks."""
    kinds = Counter(r.wording for r in records)
    distinct = {k: len({r.asked for r in records if r.wording == k}) for k in (SEEN, UNSEEN, FREE)}
    return {"questions": {k: kinds[k] for k in KINDS}, "distinct": distinct}


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
    console.print(_wording_table(stats["wording"]))


def _wording_table(per_file: list[dict]):
    from rich.table import Table

    table = Table(title="questions per wording (distinct texts in brackets)")
    table.add_column("file", overflow="fold")
    for kind in KINDS:
        table.add_column(f"{kind} rephrasing" if kind in (SEEN, UNSEEN) else kind, justify="right")
    for entry in per_file:
        n, d = entry["questions"], entry["distinct"]
        table.add_row(entry["file"], *[f"{n[k]}" + (f" ({d[k]})" if k in d and n[k] else "") for k in KINDS])
    return table
