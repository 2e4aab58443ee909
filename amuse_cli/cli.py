"""The `amuse` command: a thin click group; each subcommand lives in amuse_cli/commands/."""
from __future__ import annotations

import os
import sys

import click

from amuse_cli import __version__
from amuse_cli.commands import eval as eval_cmd
from amuse_cli.commands import extract_features, predict, pretrain, report, stats, synth, train
from amuse_cli.errors import AmuseError


class AmuseGroup(click.Group):
    """Turns AmuseError into one line on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except AmuseError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(e.exit_code)


@click.group(cls=AmuseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="amuse")
@click.option("-C", "--workdir", type=click.Path(file_okay=False), envvar="AMUSE_WORKDIR",
              help="Run as if started in DIR: relative data, cache, checkpoints and --out paths live there "
                   "(created if missing; env AMUSE_WORKDIR).")
def cli(workdir):
    """amuse: music audio-visual question answering, from mp4 files to per-type accuracy tables.

    \b
    amuse synth                              # the built-in synthetic benchmark
    amuse extract-features                   # frames + log-mel + rhythm/source labels -> cache
    amuse train recipes/amuse-tiny.yaml      # CPU demo; recipes/amuse.yaml on a GPU
    amuse eval checkpoints/<recipe>/<run>    # predictions + metrics on the test split
    amuse report                             # the papers' per-question-type table
    """
    if workdir:
        os.makedirs(workdir, exist_ok=True)
        os.chdir(workdir)   # one root for every relative path of every subcommand, as `git -C` does


for module in (synth, extract_features, pretrain, train, eval_cmd, predict, report, stats):
    cli.add_command(module.command)


def main():
    cli(prog_name="amuse")
