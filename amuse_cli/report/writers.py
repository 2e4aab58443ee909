"""Writers of a report: rich, md, csv, latex, json, picked by name from a small registry.

Every writer prints a number through `cell_text`, so a cell reads the same everywhere
(percent with 2 decimals, `mean ± std`, `[lo, hi]` for a 95% interval, `–` for no value);
LaTeX and Markdown only escape symbols, never reformat numbers.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from amuse_cli.errors import AmuseError

DASH = "–"  # no value (a type without questions, a number the paper did not print)
ROW_KINDS = ("run", "section", "published", "footer")


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[tuple[str, list]] = field(default_factory=list)  # (kind, values), kind in ROW_KINDS

    def add(self, kind: str, values: list) -> None:
        assert kind in ROW_KINDS
        self.rows.append((kind, values))


@dataclass
class Report:
    tables: list[Table]
    data: dict                                          # the JSON form of the same numbers
    notes: list[str] = field(default_factory=list)      # one line each, for stderr (stdout stays data)
    files: dict = field(default_factory=dict)           # Path -> text written beside (confusion CSVs)


def cell_text(value) -> str:
    if value is None:
        return DASH
    if isinstance(value, dict):  # {"acc", "std"?, "ci"?}
        if value.get("acc") is None:
            return DASH
        text = f"{value['acc']:.2f}"
        if value.get("std") is not None:
            text += f" ± {value['std']:.2f}"
        if value.get("ci"):
            text += f" [{value['ci'][0]:.2f}, {value['ci'][1]:.2f}]"
        return text
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


WRITERS: dict[str, Callable[[Report], str]] = {}


def writer(name: str):
    def deco(fn):
        WRITERS[name] = fn
        return fn
    return deco


def get_writer(name: str) -> Callable[[Report], str]:
    if name not in WRITERS:
        raise AmuseError(f"unknown --format {name!r}; choose one of: {', '.join(WRITERS)}")
    return WRITERS[name]


def _texts(table: Table):
    return [(kind, [cell_text(v) for v in values]) for kind, values in table.rows]


def _sources(table: Table) -> list[str]:
    """`<section label>: <source>` of each published block (a section row's second value)."""
    return [f"{values[0]}. {values[1]}" for kind, values in table.rows if kind == "section" and len(values) > 1]


@writer("rich")
def write_rich(report: Report) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import (
        Text,  # plain text: run names and intervals hold [brackets], not markup
    )

    buf = io.StringIO()
    console = Console(file=buf, width=5000, color_system=None, force_terminal=False)  # never wrap cells
    for table in report.tables:
        t = RichTable(title=Text(table.title), box=box.SIMPLE_HEAD, title_justify="left",
                      caption=Text("\n".join(_sources(table))) if _sources(table) else None, caption_justify="left")
        for i, h in enumerate(table.header):
            t.add_column(h, justify="left" if i == 0 else "right", no_wrap=True)
        for kind, texts in _texts(table):
            texts = [Text(x) for x in texts]
            if kind == "section":
                t.add_section()
                t.add_row(texts[0], style="bold")
            else:
                if kind == "footer":
                    t.add_section()
                t.add_row(*texts, style="italic" if kind == "published" else None)
        console.print(t)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


@writer("md")
def write_md(report: Report) -> str:
    out = []
    for table in report.tables:
        width = len(table.header)
        esc = [h.replace("|", "\\|") for h in table.header]
        out += [f"**{table.title}**", "", "| " + " | ".join(esc) + " |",
                "|" + "|".join([":---"] + ["---:"] * (width - 1)) + "|"]
        for kind, texts in _texts(table):
            texts = [t.replace("|", "\\|") for t in texts]
            if kind == "section":
                texts = [f"*{texts[0]}*"] + [""] * (width - 1)
            elif kind == "footer":
                texts[0] = f"*{texts[0]}*"
            out.append("| " + " | ".join(texts) + " |")
        out += ["", *(f"{src}  " for src in _sources(table))] if _sources(table) else []
        out.append("")
    return "\n".join(out)


@writer("csv")
def write_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for i, table in enumerate(report.tables):
        if len(report.tables) > 1:
            if i:
                w.writerow([])
            w.writerow([table.title])
        w.writerow(table.header)
        for kind, texts in _texts(table):
            w.writerow(texts[:2] if kind == "section" else texts)
    return buf.getvalue()


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
                  "±": r"$\pm$", DASH: "--"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


@writer("latex")
def write_latex(report: Report) -> str:
    out = []
    for table in report.tables:
        width = len(table.header)
        out += [f"% {table.title} (needs \\usepackage{{booktabs}})",
                r"\begin{tabular}{l" + "r" * (width - 1) + "}", r"\toprule",
                " & ".join(latex_escape(h) for h in table.header) + r" \\", r"\midrule"]
        for kind, texts in _texts(table):
            if kind == "section":
                out += [r"\midrule", rf"\multicolumn{{{width}}}{{l}}{{\textit{{{latex_escape(texts[0])}}}}} \\"]
                continue
            if kind == "footer":
                out.append(r"\midrule")
            out.append(" & ".join(latex_escape(t) for t in texts) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}", *(f"% {latex_escape(src)}" for src in _sources(table)), ""]
    return "\n".join(out)


@writer("json")
def write_json(report: Report) -> str:
    return json.dumps(report.data, indent=1, ensure_ascii=False) + "\n"
