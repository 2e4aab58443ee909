"""The options every subcommand spells the same way, and recipe loading.

One vocabulary: `--out PATH` is where the command's one product goes; `--overwrite` replaces what
exists instead of resuming or refusing; `--dry-run` checks the inputs and says what would be
written, writing nothing; `--no-progress` silences bars and progress lines; `--split` is train,
val or test (or the name an evaluated --annotations file's outputs took); OVERRIDES are
`key=value` / `~key` on the recipe (or, for a finished run, on where its data lives).
"""
from __future__ import annotations

import click

from amuse_cli import config

def recipe_arguments(f):
    """RECIPE [key=value ...] [~key ...] plus --print-config."""
    f = click.option("--print-config", is_flag=True, help="Print the resolved recipe as YAML and exit.")(f)
    f = click.argument("overrides", nargs=-1)(f)
    return f


def run_overrides(f):
    """RUN [key=value ...]: where a finished run's data lives now."""
    return click.argument("overrides", nargs=-1)(f)


def dry_run_option(f):
    return click.option("--dry-run", is_flag=True,
                        help="Check the inputs and say what would be written; write nothing.")(f)


def no_progress_option(f):
    return click.option("--no-progress", is_flag=True, help="No progress bar or progress lines.")(f)


def split_option(f):
    # free text: `eval --annotations FILE --split NAME` names its outputs predictions-NAME.jsonl
    return click.option("--split", default="test", show_default=True,
                        help="train, val or test (the recipe's data.<split>); with `eval --annotations`, "
                             "the name its outputs take.")(f)


def overwrite_option(what: str):
    return click.option("--overwrite", is_flag=True, help=f"Replace {what} instead of resuming or refusing.")


def load_recipe(path, overrides, print_config: bool):
    """Resolve the recipe; with --print-config print it and stop (exit 0). The returned cfg also
    carries `path` (config.SOURCE), so messages can print a command naming the user's recipe."""
    cfg = config.load(path, overrides)
    if print_config:
        click.echo(config.dump(cfg), nl=False)
        raise SystemExit(0)
    return config.with_source(cfg, path)
