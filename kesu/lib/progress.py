"""A text progress bar on stderr, no dependency (`kesu import`, `kesu bench generate`): redrawn
in place on a terminal, one line every 10 % otherwise (logs, CI). ``total`` may be unknown."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    def __init__(self, label: str, total: int | None, *, unit: str = "rows",
                 stream: TextIO | None = None, quiet: bool = False, done: int = 0) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start_at = done  # a resumed run starts part-way; its rate counts only this run
        self.done = done
        self.started = time.perf_counter()
        self._drawn = 0.0
        self._decile = -1

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.quiet:
            return
        now = time.perf_counter()
        if self.tty:
            if now - self._drawn >= 0.2:
                self._drawn = now
                self.stream.write("\r" + self.line(now))
                self.stream.flush()
            return
        decile = self.done * 10 // self.total if self.total else self.done // 10_000
        if decile != self._decile:
            self._decile = decile
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()

    def rate(self, now: float | None = None) -> float:
        elapsed = max((now or time.perf_counter()) - self.started, 1e-9)
        return (self.done - self.start_at) / elapsed

    def line(self, now: float) -> str:
        elapsed = now - self.started
        rate = self.rate(now)
        if not self.total:
            return f"{self.label} {self.done:,} {self.unit}  {rate:,.0f}/s  {duration(elapsed)}   "
        fraction = min(self.done / self.total, 1.0)
        width = 30
        filled = int(width * fraction)
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        return (f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {fraction:6.1%} "
                f"{self.done:,}/{self.total:,} {self.unit}  {rate:,.0f}/s  "
                f"{duration(elapsed)} ETA {duration(eta)}   ")

    def finish(self) -> float:
        elapsed = time.perf_counter() - self.started
        if not self.quiet and self.tty:
            self.stream.write("\r" + self.line(time.perf_counter()) + "\n")
            self.stream.flush()
        return elapsed
