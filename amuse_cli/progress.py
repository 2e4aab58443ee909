"""The one progress display of every command: a rich bar on a terminal; plain lines otherwise.

Plain lines (logs, CI, `| tee`) come at most every PLAIN_EVERY_S seconds and at the end, whatever
the command counts (videos rendered, videos extracted, training steps), so every log reads alike.
"""
from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress

PLAIN_EVERY_S = 10.0


def fmt_time(seconds: float) -> str:
    s = int(max(0, seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """`total` items of which `done` are finished already (a resumed job); `advance` after each one,
    with `info` (loss, failures) shown beside the count. Use as a context manager or start/stop."""

    def __init__(self, label: str, total: int, *, enabled: bool = True, done: int = 0, unit: str = "items",
                 console: Console | None = None, transient: bool = False):
        self.label, self.total, self.enabled, self.unit = label, total, enabled, unit
        self.done = self.first = done
        self.console = console or Console(stderr=True)
        self.transient = transient
        self.bar = None

    def start(self) -> Progress:
        self.t0, self.last = time.perf_counter(), time.perf_counter()
        if self.enabled and self.console.is_terminal:
            self.bar = RichProgress(TextColumn(self.label), BarColumn(), MofNCompleteColumn(),
                                    TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
                                    console=self.console, transient=self.transient)
            self.task = self.bar.add_task(self.label, total=self.total, completed=self.done, info="")
            self.bar.start()
        return self

    def rate(self) -> float:
        """Items per second since start (items done before start, when resuming, not counted)."""
        return (self.done - self.first) / max(time.perf_counter() - self.t0, 1e-9)

    def advance(self, n: int = 1, info: str = "") -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done, info=info)
            return
        now = time.perf_counter()
        if self.enabled and (now - self.last >= PLAIN_EVERY_S or self.done >= self.total):
            self.last = now
            rate = self.rate()
            eta = (self.total - self.done) / rate if rate > 0 else 0.0
            pct = 100 * self.done // max(self.total, 1)
            self.console.print(f"{self.label} {self.done}/{self.total} ({pct}%) {rate:.2f} {self.unit}/s"
                               f"{' ' + info if info else ''} eta {fmt_time(eta)}", highlight=False, soft_wrap=True)

    def print(self, text: str) -> None:
        """A line above the bar (or in the log), e.g. a failure."""
        self.console.print(text, highlight=False, soft_wrap=True)   # a log line is never wrapped

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def __enter__(self) -> Progress:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
