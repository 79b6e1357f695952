"""A text progress bar on stderr (no dependency): redrawn in place on a terminal, a line every
10 % otherwise (logs, CI)."""

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
    def __init__(self, label: str, total: int, *, unit: str = "complaints",
                 stream: TextIO | None = None, quiet: bool = False) -> None:
        self.label, self.total, self.unit = label, max(total, 0), unit
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = 0
        self.started = time.perf_counter()
        self._drawn = 0.0
        self._decile = -1

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.quiet:
            return
        now = time.perf_counter()
        if self.tty:
            if now - self._drawn >= 0.2 or self.done >= self.total:
                self._drawn = now
                self.stream.write("\r" + self.line(now))
                self.stream.flush()
        else:
            decile = self.done * 10 // self.total if self.total else 10
            if decile != self._decile:
                self._decile = decile
                self.stream.write(self.line(now) + "\n")
                self.stream.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        fraction = self.done / self.total if self.total else 1.0
        width = 30
        filled = int(width * fraction)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        return (f"{self.label:<9} [{'#' * filled}{'.' * (width - filled)}] {fraction:6.1%} "
                f"{self.done:,}/{self.total:,} {self.unit}  {rate:,.0f}/s  "
                f"elapsed {duration(elapsed)}  ETA {duration(eta)}   ")

    def finish(self) -> float:
        elapsed = time.perf_counter() - self.started
        if not self.quiet and self.tty:
            self.stream.write("\r" + self.line(time.perf_counter()) + "\n")
            self.stream.flush()
        return elapsed
