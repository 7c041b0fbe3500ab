"""Progress bars that suit where they are written: tqdm's bar in a terminal or a notebook; in a
log file (``nohup``, a cluster job, CI) one plain line every ``MOSAIC_PROGRESS_SECONDS`` seconds
(30 by default) instead of one ever-growing line of carriage returns."""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from tqdm import tqdm

__all__ = ["progress_bar", "writes_to_terminal"]

#: seconds between two lines of a bar written to a log file
LOG_INTERVAL_ENV = "MOSAIC_PROGRESS_SECONDS"


def writes_to_terminal(stream: TextIO) -> bool:
    """True for a terminal and for a Jupyter kernel's output (the front end redraws a bar on
    ``\\r``, papermill stores the last state); False for a file or a pipe."""
    if type(stream).__module__.startswith("ipykernel"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real stream
        return False


class _Lines:
    """A stream for tqdm that turns each redraw (``\\r`` + the bar) into a line of its own."""

    def __init__(self, stream: TextIO, interval: float) -> None:
        self.stream, self.interval = stream, interval
        self._last, self._at = "", -float("inf")

    def write(self, text: str) -> None:
        """A line at most every ``interval`` seconds (a postfix update forces tqdm to redraw at
        every change), and always the finished bar's."""
        line = text.replace("\r", "").replace("\x1b[A", "").strip()
        now = time.monotonic()
        done = "100%" in line
        if line and line != self._last and (done or now - self._at >= self.interval):
            self.stream.write(line + "\n")
            self._last, self._at = line, now

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(*args: Any, **kwargs: Any) -> tqdm:
    """``tqdm(*args, **kwargs)``, written to stderr; in a log file, plain lines at most every
    ``MOSAIC_PROGRESS_SECONDS`` seconds, 100 columns wide."""
    stream = kwargs.pop("file", None) or sys.stderr
    if writes_to_terminal(stream):
        return tqdm(*args, file=stream, **kwargs)
    try:
        interval = float(os.environ.get(LOG_INTERVAL_ENV, "30"))
    except ValueError:
        interval = 30.0
    kwargs.update(mininterval=max(interval, 0.0), maxinterval=max(interval, 0.0) * 2 or 1.0)
    kwargs.update(ncols=100, dynamic_ncols=False, ascii=True)
    return tqdm(*args, file=_Lines(stream, max(interval, 0.0)), **kwargs)
