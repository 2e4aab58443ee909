"""Progress: a rich bar (loss, samples/s, ETA) on a terminal; plain lines every log_every steps otherwise."""
from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


def fmt_time(seconds: float) -> str:
    s = int(max(0, seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class EpochProgress:
    def __init__(self, enabled: bool, log_every: int, epochs: int):
        self.enabled, self.log_every, self.epochs = enabled, max(1, log_every), epochs
        self.console = Console(stderr=True)
        self.bar = None

    def start(self, epoch: int, total: int) -> None:
        self.epoch, self.total, self.t0, self.loss_sum, self.n = epoch, total, time.time(), 0.0, 0
        if self.enabled and self.console.is_terminal:
            self.bar = Progress(TextColumn(f"epoch {epoch + 1}/{self.epochs}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[info]}"), TimeRemainingColumn(), console=self.console,
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task("train", total=total, info="")

    def update(self, step: int, loss: float, samples: int) -> None:
        """step: batches done this epoch; samples: seen this epoch (this process)."""
        self.loss_sum, self.n = self.loss_sum + loss, self.n + 1
        elapsed = time.time() - self.t0
        rate = samples / max(elapsed, 1e-9)
        info = f"loss {loss:.3f} (avg {self.loss_sum / self.n:.3f}) {rate:.0f} samples/s"
        if self.bar is not None:
            self.bar.update(self.task, completed=step, info=info)
        elif step % self.log_every == 0 or step == self.total:
            eta = elapsed / step * (self.total - step)
            print(f"epoch {self.epoch + 1}/{self.epochs} step {step}/{self.total} ({100 * step // self.total}%) "
                  f"{info} eta {fmt_time(eta)}", flush=True)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
