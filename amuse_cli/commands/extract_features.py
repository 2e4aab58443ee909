"""`amuse extract-features`: decode every video once into the feature cache."""
import os
import sys
from pathlib import Path

import click
from rich.console import Console

from amuse_cli import distributed
from amuse_cli.commands.common import (dry_run_option, load_recipe, no_progress_option, overwrite_option,
                                       recipe_arguments)
from amuse_cli.paths import DEFAULT_RECIPE, DEFAULT_SYNTH_DIR


@click.command("extract-features")
@click.argument("recipe", required=False, default=DEFAULT_RECIPE)
@recipe_arguments
@click.option("--workers", type=int, default=None, help="Processes [default: CPU cores / torchrun ranks].")
@overwrite_option("every cached video (re-extract all)")
@click.option("--verify", is_flag=True, help="Also check each cached file's SHA-256 before skipping it.")
@dry_run_option
@no_progress_option
def command(recipe, overrides, print_config, workers, overwrite, verify, dry_run, no_progress):
    """Frames, log-mel windows and rhythm/source labels per video, cached on disk.

    A rerun resumes: videos already cached (same file size and time) are skipped. Exit code 0 when
    every video is cached, 1 when some failed (listed with their reasons).

    \b
    Examples:
      amuse extract-features
      amuse extract-features recipes/amuse.yaml data.root=/data/MUSIC-AVQA --workers 8
      amuse extract-features recipes/music-avqa.yaml data.root=/data/MUSIC-AVQA --dry-run
      torchrun --nproc-per-node=4 -m amuse_cli extract-features recipes/amuse.yaml
    """
    from amuse_cli.features import runner  # PyAV loads with the command that decodes, not the CLI
    if "=" in recipe or recipe.startswith("~"):    # `amuse extract-features key=value ...`
        recipe, overrides = DEFAULT_RECIPE, (recipe, *overrides)
    cfg = load_recipe(recipe, overrides, print_config)
    console = Console(soft_wrap=True)
    if dry_run:
        from amuse_cli.engine.preflight import model_weights
        plan = runner.plan(cfg)
        plan["problems"] += model_weights(cfg)       # the weight files training will load beside this cache
        print_plan(console, plan, overwrite)
        return
    ensure_synthetic(cfg, console, progress=not no_progress)
    rank, world = distributed.rank_world()
    if workers is None:
        workers = max(1, (os.cpu_count() or 1) // world)
    manifest = runner.run(cfg, workers=workers, resume=not overwrite, verify=verify, progress=not no_progress)
    if rank == 0:
        print_report(console, manifest)
    if manifest["summary"]["videos_failed"]:
        sys.exit(1)


def ensure_synthetic(cfg: dict, console, progress: bool) -> None:
    """The default synthetic dataset is generated on first use (as `amuse synth` would), saying so."""
    from amuse_cli.features.videos import video_folders
    from amuse_cli.commands.synth import render
    from amuse_cli.synth.generate import SynthOptions

    root = Path(cfg["data"]["root"])
    if any(f.is_dir() for f in video_folders(cfg)) or cfg["data"]["benchmark"] != "synthetic" \
            or root.resolve() != Path(DEFAULT_SYNTH_DIR).resolve():
        return
    console.print(f"{root} has no dataset yet: generating the synthetic benchmark first (amuse synth --out {root})",
                  highlight=False)
    render(SynthOptions(out=str(root)), progress)


def print_report(console, manifest: dict) -> None:
    """The summary line and a table of failed videos with their reasons."""
    s = manifest["summary"]
    line = (f"cache {manifest['path']}: {s['videos_ok']} ok, {s['videos_failed']} failed, "
            f"{s['mb_per_video']:.2f} MB/video, {s['videos_extracted_this_run']} extracted in {s['seconds']:.1f} s")
    if "rhythm_agreement" in s:
        line += f"; vs ground truth: rhythm_agreement {s['rhythm_agreement']:.3f}, bpm_mae {s['bpm_mae']:.1f}"
    if "rhythm_change_f1" in s:
        line += (f", rhythm changes P {s['rhythm_change_precision']:.2f} R {s['rhythm_change_recall']:.2f} "
                 f"F1 {s['rhythm_change_f1']:.2f} ({s['rhythm_true_changes']} true)")
    if s["videos_without_audio"]:
        line += f"; {s['videos_without_audio']} without audio (silence cached)"
    console.print(line, highlight=False)
    failed = [(v, r.get("reason", "")) for v, r in manifest["videos"].items() if r.get("status") != "ok"]
    if not failed:
        return
    from rich.table import Table
    table = Table(title=f"{len(failed)} videos failed", title_justify="left")
    table.add_column("video_id")
    table.add_column("reason", overflow="fold")
    for v, reason in failed:
        table.add_row(v, reason)
    console.print(table)


def print_plan(console, plan: dict, overwrite: bool) -> None:
    """--dry-run: what a run would extract; the videos the annotations name that no folder holds;
    v2.0 clips not saved under their csv name; every problem at once (then exit 2)."""
    from amuse_cli.engine.preflight import Problems
    todo = plan["videos"] if overwrite else plan["videos"] - plan["cached"]
    if plan["missing"]:
        shown = ", ".join(plan["missing"][:5]) + (" ..." if len(plan["missing"]) > 5 else "")
        console.print(f"warning: {len(plan['missing'])} videos the annotations name are in no folder of "
                      f"data.videos nor in the cache ({shown}); train/eval need data.skip_missing=true for them",
                      highlight=False)
    clips = plan.get("clips")
    if clips and clips["missing"]:
        bare = clips["saved_as_youtube_id"]
        console.print(f"warning: {len(clips['missing'])} of the {clips['clips']} clips of {clips['csv']} have no "
                      f"file named <video_id><suffix>.mp4 (e.g. {clips['missing'][0]}.mp4)"
                      + (f"; {len(bare)} of them share a YouTube id that has a file of its own (e.g. {bare[0]}): "
                         f"save each clip under its own name, suffix included" if bare else ""), highlight=False)
    Problems(plan["problems"]).raise_if_any()
    console.print(f"ok: settings, annotation files and weights usable; {plan['videos']} videos found, "
                  f"{plan['cached']} already cached in {plan['cache']}; would extract {todo}", highlight=False)
