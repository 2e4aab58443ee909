"""`amuse predict`: answer a free-text question about one video (or a batch)."""
import click

from amuse_cli.commands.common import run_overrides
from amuse_cli.errors import AmuseError


@click.command("predict")
@click.argument("run", type=click.Path(file_okay=False))
@run_overrides
@click.option("--video", type=click.Path(dir_okay=False), help="One video file (with --question).")
@click.option("--question", help="A question in words, e.g. \"Which instrument sounds first?\"")
@click.option("--annotations", type=click.Path(dir_okay=False), help="Answer every record of this file.")
@click.option("--video-dir", type=click.Path(file_okay=False),
              help="Folder of the videos --annotations names (<video_id>.mp4/.mkv/...; <id>_flip is made from "
                   "<id> when it has no file).")
def command(run, overrides, video, question, annotations, video_dir):
    """Print the answer and top-5 probabilities. Writes nothing.

    OVERRIDES (key=value) may say where the run's data lives now (data.*, features.cache, eval.*,
    train.device), as for `amuse eval`.

    \b
    Example:
      amuse predict checkpoints/amuse-tiny/<run> --video x.mp4 --question "Which instrument sounds first?"
      amuse predict checkpoints/amuse-tiny/<run> --annotations q.json --video-dir data/synth/videos
    """
    from amuse_cli.engine import predict as engine
    if annotations:
        if not video_dir:
            raise AmuseError("--annotations needs --video-dir DIR (the folder of <video_id>.mp4)")
        failed = engine.predict_batch(run, annotations, video_dir, echo=click.echo, overrides=overrides)
        if failed:
            raise SystemExit(1)
        return
    if not (video and question):
        raise AmuseError("give --video FILE.mp4 and --question TEXT, or --annotations FILE --video-dir DIR")
    answer = engine.Predictor(run, warn=lambda m: click.echo(m, err=True), overrides=overrides).answer(video, question)
    click.echo(f"answer: {answer[0][0]}")
    for name, p in answer:
        click.echo(f"  {name:<16} {p:.3f}")
