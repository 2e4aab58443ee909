"""`amuse stats`: what annotation files hold (questions, videos, types, templates, answers, wordings)."""
from __future__ import annotations

import json

import click

from amuse_cli.data.stats import annotation_stats, print_stats


@click.command("stats")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["rich", "json"]), default="rich", show_default=True,
              help="Tables, or one JSON object.")
@click.option("--free-text", is_flag=True,
              help="Accept rephrased (-R) questions outside the 33 templates (amuse's rephrasings need no flag).")
def command(files, fmt, free_text):
    """Count questions per type, template and answer in MUSIC-AVQA annotation files, and per file
    how they are worded: template, seen or unseen rephrasing (amuse synth --wording mixed), free text.

    \b
    Example:
      amuse stats ../shared/data/music-avqa/avqa-test.json --format json
    """
    stats = annotation_stats(files, free_text=free_text)
    if fmt == "json":
        click.echo(json.dumps(stats, indent=2, ensure_ascii=False))
    else:
        print_stats(stats, files)
