"""Pieces shared by subcommands: recipe arguments and the not-yet-implemented exit."""
from __future__ import annotations

import click

from amuse_cli import config
from amuse_cli.errors import AmuseError


def recipe_arguments(f):
    """RECIPE [key=value ...] [~key ...] plus --print-config."""
    f = click.option("--print-config", is_flag=True, help="Print the resolved recipe as YAML and exit.")(f)
    f = click.argument("overrides", nargs=-1)(f)
    return f


def load_recipe(path, overrides, print_config: bool):
    """Resolve the recipe; with --print-config print it and stop (exit 0). The returned cfg also
    carries `path` (config.SOURCE), so messages can print a command naming the user's recipe."""
    cfg = config.load(path, overrides)
    if print_config:
        click.echo(config.dump(cfg), nl=False)
        raise SystemExit(0)
    return config.with_source(cfg, path)


class NotImplementedYet(AmuseError):
    pass


def not_implemented(what: str, issue: int):
    raise NotImplementedYet(f"'{what}' is not implemented yet (tracked in issue {issue}); nothing was run")
