"""The README's option table against the real commands: one vocabulary, nothing undocumented."""
from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from amuse_cli.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"
SHARED_HELP = ("--dry-run", "--no-progress", "--print-config", "--split")  # spelled once, in commands/common.py


def table_rows() -> list[tuple[list[str], list[str]]]:
    """(options, subcommands) per row of the README's Options table."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("### Options"):].split("\n\n")[2]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        options = re.findall(r"(?<![\w-])(-{1,2}[a-zA-Z][\w-]*|key=value)", cells[0])
        commands = [c.strip(" `") for c in re.sub(r"\(.*?\)", "", cells[2]).replace(";", ",").split(",") if c.strip()]
        rows.append((options, commands))
    return rows


def option_names(command: click.Command) -> set[str]:
    names = set()
    for p in command.params:
        if isinstance(p, click.Option):
            names.update(n for n in p.opts + p.secondary_opts if n not in ("-h", "--help"))
        elif p.name == "overrides":
            names.add("key=value")
    return names


def documented() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for options, commands in table_rows():
        for c in commands:
            out.setdefault(c, set()).update(options)
    return out


def test_the_table_parses():
    rows = table_rows()
    assert len(rows) >= 15 and all(options and commands for options, commands in rows)


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_option_is_in_the_table_and_exists(name):
    real = option_names(cli.commands[name])
    doc = documented().get(name, set())
    doc = {o for o in doc if not o.startswith("--no-") or o in real}  # --balanced implies --no-balanced
    assert real - doc - {"--no-balanced"} == set(), f"amuse {name}: options missing from README's table"
    assert doc - real == set(), f"amuse {name}: README's table names options it does not have"


def test_the_group_option_is_documented():
    assert {"-C", "--workdir"} <= option_names(cli) and {"-C", "--workdir"} <= documented()["amuse"]


@pytest.mark.parametrize("option", SHARED_HELP)
def test_a_shared_option_reads_the_same_everywhere(option):
    helps = {name: p.help for name, c in cli.commands.items() for p in c.params
             if isinstance(p, click.Option) and option in p.opts}
    assert len(helps) >= 2 and len(set(helps.values())) == 1, helps


def test_every_writing_subcommand_has_dry_run():
    writers = {"synth", "extract-features", "pretrain", "train", "eval", "report"}
    assert {n for n, c in cli.commands.items() if "--dry-run" in option_names(c)} == writers
