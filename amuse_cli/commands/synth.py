"""`amuse synth`: the built-in synthetic benchmark (real mp4 + MUSIC-AVQA json)."""
import click

from amuse_cli.commands.common import not_implemented
from amuse_cli.paths import DEFAULT_SYNTH_DIR


@click.command("synth")
@click.option("--out", default=DEFAULT_SYNTH_DIR, show_default=True, type=click.Path(file_okay=False))
@click.option("--videos", type=int, default=None, help="Number of videos.")
@click.option("--seconds", type=float, default=None, help="Duration of each video.")
@click.option("--size", default=None, help="Frame size WxH, e.g. 320x240.")
@click.option("--fps", type=int, default=None)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--questions-per-video", type=int, default=None)
@click.option("--split", default="0.7,0.1,0.2", show_default=True, help="train,val,test fractions of videos.")
@click.option("--balanced/--no-balanced", default=True, show_default=True)
@click.option("--workers", type=int, default=None, help="Processes (default: all cores).")
def command(**opts):
    """Generate procedurally rendered music performances with exact ground truth.

    \b
    Example:
      amuse synth --out data/synth-small --videos 150 --seconds 4 --seed 7
    """
    not_implemented("amuse synth", 3)
