"""`--curves`: validation accuracy and training loss per epoch of the chosen runs, from each run
folder's metrics.jsonl (docs/INTERFACES.md §3), with the epoch selected on val marked.

Runs need no evaluation yet: any folder with a metrics.jsonl counts, so a run still training can be
watched. The marked epoch is the one `amuse train` keeps as best.pt: the first epoch with the
highest val accuracy (the trainer replaces best.pt only on a strict improvement).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from amuse_cli import paths
from amuse_cli.errors import AmuseError
from amuse_cli.report import plot

LOG = "metrics.jsonl"


@dataclass
class Curve:
    name: str
    epochs: list[int]
    val_acc: list[float | None]
    train_loss: list[float | None]    # None where nothing was trained (the prior's scoring pass)
    selected: int | None              # epoch of best.pt: first epoch with the highest val accuracy


def display_name(run_dir: Path) -> str:
    """The run as `amuse report` names it: relative to checkpoints/ when inside it."""
    ckpt, here = Path(paths.CHECKPOINTS_DIR).resolve(), run_dir.resolve()
    if here.is_relative_to(ckpt) and here != ckpt:
        return here.relative_to(ckpt).as_posix()
    return Path(os.path.relpath(here)).as_posix() if here.is_relative_to(Path.cwd()) else here.as_posix()


def selected_epoch(epochs: list[int], accs: list[float | None]) -> int | None:
    best = None
    for epoch, acc in zip(epochs, accs):
        if acc is not None and (best is None or acc > best[1]):
            best = (epoch, acc)
    return best[0] if best else None


def read_curve(run_dir: Path) -> Curve | None:
    """The QA epochs of one metrics.jsonl (stage-1 rows skipped); None when it has none yet."""
    path = run_dir / LOG
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise AmuseError(f"{path}:{lineno}: not valid JSON ({e.msg}); the run's log is damaged") from None
        if isinstance(row, dict) and row.get("stage", "qa") == "qa" and "epoch" in row:
            rows.append(row)
    if not rows:
        return None
    epochs = [int(r["epoch"]) for r in rows]
    accs = [r.get("val_acc") for r in rows]
    # a model with nothing to train (no optimiser, lr None) logs a loss of 0 that means nothing
    losses = [r.get("train_loss") if r.get("lr") is not None else None for r in rows]
    return Curve(display_name(run_dir), epochs, accs, losses, selected_epoch(epochs, accs))


def find_logs(roots) -> list[Path]:
    """Run folders with a metrics.jsonl: each root itself or anywhere below it (default checkpoints/)."""
    found: list[Path] = []
    for root in (roots or [paths.CHECKPOINTS_DIR]):
        root = Path(root)
        if not root.is_dir():
            raise AmuseError(f"run folder {root} does not exist; pass checkpoints/<recipe>/<run>")
        found += [p.parent for p in sorted(root.rglob(LOG)) if p.parent not in found]
    return found


def read_curves(roots) -> list[Curve]:
    found = [c for c in (read_curve(d) for d in find_logs(roots)) if c]
    if not found:
        where = ", ".join(map(str, roots)) if roots else f"{paths.CHECKPOINTS_DIR}/"
        raise AmuseError(f"--curves: no {LOG} with a finished epoch under {where}; "
                         f"`amuse train` writes one row per epoch into the run folder")
    return found


def draw(found: list[Curve]):
    """Val accuracy (top) and train loss (bottom) against the epoch; a star on each run's selected epoch."""
    plt = plot.require_matplotlib()
    from matplotlib.lines import Line2D

    with plt.rc_context(plot.paper_style()):
        fig, (val, loss) = plt.subplots(2, 1, sharex=True, figsize=(plot.COLUMN_WIDTH, 3.2),
                                        gridspec_kw={"height_ratios": (1.4, 1.0), "hspace": 0.12})
        stars = []
        for i, c in enumerate(found):
            colour = plot.PALETTE[i % len(plot.PALETTE)]
            marker = "o" if len(c.epochs) <= 12 else None
            val.plot(c.epochs, [float("nan") if a is None else a for a in c.val_acc], color=colour, linewidth=1.0,
                     marker=marker, markersize=2, label=c.name)
            if any(v is not None for v in c.train_loss):
                loss.plot(c.epochs, [float("nan") if v is None else v for v in c.train_loss], color=colour,
                          linewidth=1.0, marker=marker, markersize=2, label=c.name)
            if c.selected is not None:
                stars.append((c.selected, c.val_acc[c.epochs.index(c.selected)], colour))
        if stars:
            val.scatter([s[0] for s in stars], [s[1] for s in stars], marker="*", s=40, c=[s[2] for s in stars],
                        edgecolors="black", linewidths=0.4, zorder=5, label="_stars")
        handles, labels = val.get_legend_handles_labels()  # under the plots: curves stay unobstructed
        handles.append(Line2D([], [], linestyle="none", marker="*", markersize=7, markerfacecolor="white",
                              markeredgecolor="black", markeredgewidth=0.5))
        labels.append("epoch selected on val (best.pt)")
        val.set_ylabel("val accuracy (%)")
        if all(v is None or v > 0 for c in found for v in c.train_loss):
            loss.set_yscale("log")  # a first epoch's loss far above the rest flattens a linear axis
        loss.set_ylabel("train loss")
        loss.set_xlabel("epoch")
        loss.xaxis.get_major_locator().set_params(integer=True)
        for ax in (val, loss):
            ax.grid(linewidth=0.3, alpha=0.5)
            ax.spines[["top", "right"]].set_visible(False)
        loss.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.42), ncol=2, frameon=False,
                    handlelength=1.6, borderaxespad=0.0)
    return fig


def write(found: list[Curve], path) -> Path:
    """Draw and write the curves figure (.png, .pdf or .svg)."""
    plt = plot.require_matplotlib()
    path = plot.check_path(path, "--curves")
    with plt.rc_context(plot.paper_style()):
        fig = draw(found)
        try:
            return plot.save(fig, path)
        finally:
            plt.close(fig)


def evaluated(roots, split: str) -> bool:
    """Whether any run under the roots has predictions-<split>.jsonl (the table needs one)."""
    return any(next(Path(r).rglob(f"predictions-{split}.jsonl"), None)
               for r in (roots or [paths.CHECKPOINTS_DIR]) if Path(r).is_dir())
