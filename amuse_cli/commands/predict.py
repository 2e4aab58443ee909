"""`amuse predict`: answer a free-text question about one video (or a batch)."""
import click

from amuse_cli.commands.common import not_implemented


@click.command("predict")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--video", type=click.Path(dir_okay=False))
@click.option("--question")
@click.option("--annotations", type=click.Path(dir_okay=False), help="Answer every record of this file.")
@click.option("--videos", type=click.Path(file_okay=False), help="Folder of <video_id>.mp4 for --annotations.")
def command(run, video, question, annotations, videos):
    """Print the answer and top-5 probabilities.

    \b
    Example:
      amuse predict checkpoints/amuse-tiny/<run> --video x.mp4 --question "Which instrument sounds first?"
    """
    not_implemented("amuse predict", 5)
