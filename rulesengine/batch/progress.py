"""Progress of a long batch run on stderr: a bar per stage (reading, computing, writing) with
counts and time left, from rich when it is installed (it measures CJK text, fits the terminal
and estimates the time left), else one plain line. Shown only on a terminal, and only for
runs over a second; nothing is written when stderr is a file or a pipe."""

from __future__ import annotations

import sys
import time

from ..core.i18n import _

_READING = "reading "  # batch/read.py labels its stage "reading FILE"


class Progress:
    """``tick(label, done, total)`` as work goes on; ``done()`` at the end clears the display."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.monotonic()
        self.shown = 0.0
        self.drawn = False
        self.bar = None  # rich's Progress, once shown
        self.tasks: dict[str, int] = {}

    def tick(self, label: str, done: int | None = None, total: int | None = None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < 1.0 or now - self.shown < 0.1:
            return
        self.shown = now
        if label.startswith(_READING):
            label = _("reading {file}").format(file=label[len(_READING):])
        if self._rich(label, done, total):
            return
        if total:
            filled = int(30 * done / max(total, 1))
            text = f"{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}"
        elif done is not None:
            text = _("{label}: {count} rows").format(label=label, count=f"{done:,}")
        else:
            text = label
        self.stream.write("\r" + text[:70].ljust(70))
        self.stream.flush()
        self.drawn = True

    def _rich(self, label: str, done: int | None, total: int | None) -> bool:
        try:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, \
                TimeRemainingColumn
        except ImportError:
            return False
        if self.bar is None:
            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeRemainingColumn(), console=Console(file=self.stream), transient=True)
            self.bar.start()
        if label not in self.tasks:
            self.tasks[label] = self.bar.add_task(label, total=total)
        self.bar.update(self.tasks[label], completed=done or 0, total=total)
        return True

    def done(self) -> None:
        if self.bar is not None:
            self.bar.stop()
        if self.drawn:
            self.stream.write("\r" + " " * 70 + "\r")
            self.stream.flush()
