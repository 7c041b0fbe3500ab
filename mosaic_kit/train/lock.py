"""One training process per run directory: an OS lock on ``{run_dir}/.lock``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, TextIO

__all__ = ["RunLock"]


class RunLock:
    """An exclusive ``flock`` on ``{run_dir}/.lock`` holding the owner's pid. The kernel releases
    it when the process exits, also on a crash or SIGKILL, so a stale lock file never blocks a
    later run. A context manager."""

    def __init__(self, run_dir: str | Path, busy: Optional[str] = None) -> None:
        self.run_dir = Path(run_dir)
        self.busy = (
            busy  # the error when another process holds the lock; ``{holder}`` becomes its pid
        )
        self._fh: Optional[TextIO] = None

    def __enter__(self) -> "RunLock":
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, as before
            return self
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fh = open(self.run_dir / ".lock", "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise RuntimeError(
                (
                    self.busy
                    or "{dir} is being trained by another process (pid {holder}); two runs in one "
                    "directory would overwrite each other's log and checkpoints. Wait for it, stop "
                    "it, or choose another --out."
                ).format(dir=self.run_dir, holder=holder)
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return self

    def __exit__(self, *exc) -> None:
        if self._fh is not None:
            import fcntl

            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
