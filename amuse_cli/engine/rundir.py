"""Run folders `checkpoints/<recipe name>/<run name>/` (docs/INTERFACES.md §3): never silently reused."""
from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from amuse_cli import __version__, config, paths
from amuse_cli.atomic import write_atomic
from amuse_cli.errors import AmuseError
from amuse_cli.models.sentence import env_lines

PACKAGES = ("torch", "torchvision", "torchaudio", "numpy", "av", "librosa", "click", "rich", "pyyaml",
            "scikit-learn", "safetensors")


def recipe_root(cfg: dict) -> Path:
    return Path(paths.CHECKPOINTS_DIR) / cfg["name"]


def default_run_name(cfg: dict) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{config.config_hash(cfg)}"


def create(cfg: dict, run_name: str | None, overwrite: bool) -> Path:
    """A fresh run folder; an existing one is an error unless overwrite (then it is emptied)."""
    run = recipe_root(cfg) / (run_name or default_run_name(cfg))
    if run.exists() and any(run.iterdir()):
        if not overwrite:
            raise AmuseError(f"run folder {run} already exists; continue it with --resume {run}, "
                             f"replace it with --overwrite, or pick another --run-name")
        shutil.rmtree(run)
    run.mkdir(parents=True, exist_ok=True)
    return run


# What a resumed run may change: how long and where it trains, how it logs. Anything else (model,
# data, optimiser, features) would make the run's config.yaml describe a model it did not train.
# train.log_every is retired (config.RETIRED): runs saved with it may still be resumed.
RESUMABLE = ("train.epochs", "train.device", "train.num_workers", "train.log_every", "train.keep_last",
             "train.tensorboard", "eval.batch_size")


def check_resumable(run: Path, saved: dict, cfg: dict) -> None:
    """AmuseError naming the settings in which cfg differs from the run's own, unless all may change."""
    a, b = config.flatten(saved), config.flatten({**cfg, "seed": saved.get("seed")})
    changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in RESUMABLE
                     and not k.startswith("_"))
    if changed:
        shown = ", ".join(f"{k}={b.get(k)!r} (run has {a.get(k)!r})" for k in changed[:3])
        raise AmuseError(f"--resume {run}: the recipe differs from the run's config.yaml in {shown}"
                         f"{' ...' if len(changed) > 3 else ''}; resume with the run's own settings "
                         f"(only {', '.join(RESUMABLE)} may change) or start a new run")


def remove_if_unfinished(run: Path) -> None:
    """Delete a run folder that holds no checkpoint (a new run that failed before its first one)."""
    if run.is_dir() and not any(run.glob("*.pt")):
        shutil.rmtree(run, ignore_errors=True)


def latest(cfg: dict) -> Path | None:
    """The run of this recipe whose last.pt is newest (for --resume auto)."""
    found = sorted(recipe_root(cfg).glob("*/last.pt"), key=lambda p: p.stat().st_mtime)
    return found[-1].parent if found else None


def find_resume(cfg: dict, resume: str) -> tuple[Path, Path | None]:
    """(run folder, checkpoint or None when the run has none yet) for --resume auto|RUN|FILE."""
    if resume == "auto":
        run = latest(cfg)
        if run is None:
            started = sorted(p for p in recipe_root(cfg).glob("*/config.yaml"))
            if not started:
                raise AmuseError(f"--resume auto: no run of recipe '{cfg['name']}' under {recipe_root(cfg)}/; "
                                 f"start one without --resume")
            return started[-1].parent, None  # killed before its first checkpoint: start it again
        return run, run / "last.pt"
    p = Path(resume)
    if p.is_file():
        return p.parent, p
    if p.is_dir():
        return p, (p / "last.pt") if (p / "last.pt").is_file() else None
    raise AmuseError(f"--resume {resume}: no such run folder or checkpoint; use --resume auto or a path "
                     f"under {recipe_root(cfg)}/")


def _git() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return f"commit {commit or 'unknown'}\ndirty {bool(dirty)}\n"
    except (OSError, subprocess.SubprocessError):
        return "commit unknown (git not available)\n"


def _env() -> str:
    import torch
    lines = [f"amuse {__version__}", f"python {sys.version.split()[0]}", f"platform {platform.platform()}",
             f"cuda {torch.version.cuda if torch.cuda.is_available() else 'none'}"]
    if torch.cuda.is_available():
        lines.append(f"gpu {torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}")
    for pkg in PACKAGES:
        try:
            lines.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            pass
    return "\n".join(lines) + "\n"


def describe(run: Path, cfg: dict, argv: list[str]) -> None:
    """config.yaml (resolved, seed filled in), command.txt (every command that ran in it), env.txt, git.txt."""
    write_atomic(run / "config.yaml", config.dump(cfg))
    before = (run / "command.txt").read_text(encoding="utf-8") if (run / "command.txt").exists() else ""
    write_atomic(run / "command.txt", before + " ".join(argv) + "\n")
    write_atomic(run / "env.txt", _env() + env_lines(cfg["model"].get("sentence", "none")))
    write_atomic(run / "git.txt", _git())
