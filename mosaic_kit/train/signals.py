"""Stopping a run cleanly: SIGINT / SIGTERM ask the loop to stop at the next step boundary."""

from __future__ import annotations

import signal
import threading
from typing import Any, Dict, Optional

__all__ = ["StopRequest", "TrainingInterrupted", "NonFiniteError"]


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT / SIGTERM arrived; a checkpoint of the last finished step was written before
    stopping."""


class NonFiniteError(RuntimeError):
    """Training produced non-finite losses or gradients ``max_bad_steps`` times in a row."""


class StopRequest:
    """SIGINT and SIGTERM set ``requested`` (a second SIGINT stops at once). A context manager:
    handlers are installed on entry (only from the main thread, where Python allows it) and
    restored on exit."""

    def __init__(self) -> None:
        self.requested: Optional[str] = None
        self._old: Dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}
