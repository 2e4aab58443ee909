"""`amuse synth`: the built-in synthetic benchmark (real mp4 + MUSIC-AVQA json)."""
import click

from amuse_cli.commands.common import dry_run_option, no_progress_option
from amuse_cli.paths import DEFAULT_SYNTH_DIR
from amuse_cli.progress import Progress
from amuse_cli.synth.generate import SynthOptions, generate, parse_size, parse_split, plan
from amuse_cli.synth.card import world_lines
from amuse_cli.synth.report import print_summary
from amuse_cli.synth.wording import MIXES, summary_line
from amuse_cli.synth.settings import SETTINGS
from amuse_cli.synth.worlds import DEFAULT_WORLD, WORLDS


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
                   "[default: the world's: soundfont for stage, synthetic for classic]")
@click.option("--world", type=click.Choice(list(WORLDS)), default=DEFAULT_WORLD, show_default=True,
              help="What the benchmark looks and sounds like: stage (free staging, motion, sampled "
                   "instruments, rephrasings) or classic (the world of the earlier published figures).")
@click.option("--settings", default=None, metavar="NAME,...",
              help=f"Stage world: draw only these settings ({', '.join(SETTINGS)}).  [default: all]")
@click.option("--wording", type=click.Choice(list(MIXES)), default=None,
              help="templates: the 33 verbatim; mixed: train/val also ask seen rephrasings, test also "
                   "unseen ones (never in training).  [default: the world's: mixed for stage, templates "
                   "for classic]")
@click.option("--workers", type=int, default=None, help="Processes (default: all cores).")
@dry_run_option
@no_progress_option
def command(dry_run, no_progress, **opts):
    """Generate procedurally rendered music performances with exact ground truth.

    \b
    Example:
      amuse synth --out data/synth-small --videos 150 --seconds 4 --seed 7
      amuse synth --out data/synth-classic --world classic   # the earlier figures' world
      amuse synth --out data/synth-park --settings park,garden --videos 50
    """
    given = {k: v for k, v in opts.items() if v is not None}      # unset options keep the defaults
    if "size" in given:
        given["size"] = parse_size(given["size"])
    given["split"] = parse_split(given["split"])
    if "settings" in given:
        given["settings"] = tuple(s.strip() for s in given["settings"].split(",") if s.strip())
    options = SynthOptions(**given)
    options.check()
    if dry_run:
        metas, files = plan(options)
        click.echo(f"ok: would write {len(metas)} videos and {sum(map(len, files.values()))} questions "
                   f"({', '.join(f'{s} {len(q)}' for s, q in files.items())}) to {options.out}")
        click.echo("\n".join(world_lines(options, metas)))
        click.echo(summary_line(options.mix, files))
        return
    render(options, progress=not no_progress)


def render(options: SynthOptions, progress: bool) -> None:
    """Write the dataset with a progress display, then its summary (also for extract-features'
    first use of the default dataset)."""
    with Progress("render", options.videos, enabled=progress, unit="videos") as bar:
        summary = generate(options, progress=bar.advance)
    print_summary(summary)
