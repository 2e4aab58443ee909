"""`train.tensorboard=true`: the training scalars as TensorBoard event files in the run folder.

Optional: torch's SummaryWriter needs the `tensorboard` package (`pip install 'amuse[tensorboard]'`);
nothing is imported unless the key is set. Every run folder is one TensorBoard run, so
`tensorboard --logdir checkpoints/` lists them by recipe and run name.

Scalars (x axis: the optimiser step, as Lightning logs them; `epoch` is a scalar too):
  train/loss            per batch            train/loss_epoch     mean over the epoch's questions
  train/lr              per epoch            train/samples_per_s  per epoch
  val/<column>          per epoch: the 13 columns of taxonomy.COLUMNS (9 types, 3 groups, Avg)
  system/peak_mem_gb    per epoch
A resumed run discards events past its checkpoint (SummaryWriter's purge_step), so a curve never
holds two histories of the same steps.
"""
from __future__ import annotations

from pathlib import Path

from amuse_cli.errors import AmuseError

FLUSH_S = 10  # seconds between background flushes (and a flush at every epoch end)


def check(cfg: dict) -> None:
    """With train.tensorboard=true, the package must be importable: a one-line error, before any work."""
    if not cfg["train"].get("tensorboard"):
        return
    try:
        import tensorboard  # noqa: F401  (torch.utils.tensorboard needs it)
    except ModuleNotFoundError:
        raise AmuseError("train.tensorboard=true needs the tensorboard package, which is not installed; "
                         "run `pip install 'amuse[tensorboard]'` (or `pip install tensorboard`), "
                         "or set train.tensorboard=false") from None


class Board:
    """The writer of one run (rank 0 only)."""

    def __init__(self, run_dir: Path, purge_step: int | None = None):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir), purge_step=purge_step, flush_secs=FLUSH_S)

    def batch(self, step: int, loss: float) -> None:
        self.writer.add_scalar("train/loss", loss, step)

    def epoch(self, row: dict) -> None:
        """One metrics.jsonl row of the QA stage (engine.train.Trainer.metrics_row)."""
        step, w = row["step"], self.writer
        w.add_scalar("epoch", row["epoch"], step)
        w.add_scalar("train/loss_epoch", row["train_loss"], step)
        if row.get("lr") is not None:
            w.add_scalar("train/lr", row["lr"], step)
        w.add_scalar("train/samples_per_s", row["samples_per_s"], step)
        for column, acc in row["val"].items():
            if acc is not None:
                w.add_scalar(f"val/{column}", acc, step)
        w.add_scalar("system/peak_mem_gb", row["peak_mem_gb"], step)
        w.flush()

    def close(self) -> None:
        self.writer.close()


class NoBoard:
    """train.tensorboard=false, or a rank other than 0: every call does nothing."""

    def batch(self, step: int, loss: float) -> None:
        pass

    def epoch(self, row: dict) -> None:
        pass

    def close(self) -> None:
        pass


def open_board(cfg: dict, run_dir: Path, main: bool, resumed_step: int | None) -> Board | NoBoard:
    """The run's writer; `resumed_step`: the checkpoint's optimiser step when resuming (None: fresh)."""
    if not (cfg["train"].get("tensorboard") and main):
        return NoBoard()
    check(cfg)
    # the checkpoint's own epoch row sits at resumed_step; anything logged after it is redone
    return Board(run_dir, None if resumed_step is None else resumed_step + 1)
