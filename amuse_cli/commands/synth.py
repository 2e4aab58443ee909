"""`amuse synth`: the built-in synthetic benchmark (real mp4 + MUSIC-AVQA json)."""
import click

from amuse_cli.commands.common import dry_run_option, no_progress_option
from amuse_cli.paths import DEFAULT_SYNTH_DIR
from amuse_cli.progress import Progress
from amuse_cli.synth.generate import SynthOptions, generate, parse_size, parse_split, plan
from amuse_cli.synth.report import print_summary


@click.command("synth")
@click.option("--out", default=DEFAULT_SYNTH_DIR, show_default=True, type=click.Path(file_okay=False),
              help="Dataset folder to write (videos/, json/, meta/).")
@click.option("--videos", type=int, default=None, help="Number of videos.  [default: 300]")
@click.option("--seconds", type=float, default=None, help="Duration of each video.  [default: 12]")
@click.option("--size", default=None, help="Frame size WxH, e.g. 320x240.  [default: 320x240]")
@click.option("--fps", type=int, default=None, help="Frames per second.  [default: 4]")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--questions-per-video", type=int, default=None,
              help="At most this many, one per template.  [default: 33]")
@click.option("--fractions", "split", default="0.7,0.1,0.2", show_default=True, help="train,val,test fractions of videos.")
@click.option("--balanced/--no-balanced", default=True, show_default=True,
              help="Cap each answer at 50% of its template's questions (60% yes/no).")
@click.option("--audio", default=None, metavar="synthetic|soundfont[=FILE.sf2]",
              help="Instrument sound: synthetic timbres, or real samples of a GM soundfont rendered by "
                   "tinysoundfont (default file: TimGM6mb.sf2 from pretty_midi; no system package).  "
                   "[default: synthetic]")
@click.option("--workers", type=int, default=None, help="Processes (default: all cores).")
@dry_run_option
@no_progress_option
def command(dry_run, no_progress, **opts):
    """Generate procedurally rendered music performances with exact ground truth.

    \b
    Example:
      amuse synth --out data/synth-small --videos 150 --seconds 4 --seed 7
      amuse synth --out data/synth-sf --videos 50 --audio soundfont
    """
    given = {k: v for k, v in opts.items() if v is not None}      # unset options keep the defaults
    if "size" in given:
        given["size"] = parse_size(given["size"])
    given["split"] = parse_split(given["split"])
    options = SynthOptions(**given)
    options.check()
    if dry_run:
        metas, files = plan(options)
        click.echo(f"ok: would write {len(metas)} videos and {sum(map(len, files.values()))} questions "
                   f"({', '.join(f'{s} {len(q)}' for s, q in files.items())}) to {options.out}")
        return
    render(options, progress=not no_progress)


def render(options: SynthOptions, progress: bool) -> None:
    """Write the dataset with a progress display, then its summary (also for extract-features'
    first use of the default dataset)."""
    with Progress("render", options.videos, enabled=progress, unit="videos") as bar:
        summary = generate(options, progress=bar.advance)
    print_summary(summary)
