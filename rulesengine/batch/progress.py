"""A one-line progress display for long runs."""

from __future__ import annotations

import sys
import time


class Progress:
    """A one-line progress display on stderr, for runs over a second, on a terminal only."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.monotonic()
        self.shown = 0.0
        self.drawn = False

    def tick(self, label: str, done: int | None = None, total: int | None = None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < 1.0 or now - self.shown < 0.1:
            return
        self.shown = now
        if total:
            filled = int(30 * done / max(total, 1))
            text = f"{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}"
        elif done is not None:
            text = f"{label}: {done:,} rows"
        else:
            text = label
        self.stream.write("\r" + text[:100].ljust(100))
        self.stream.flush()
        self.drawn = True

    def done(self) -> None:
        if self.drawn:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()
