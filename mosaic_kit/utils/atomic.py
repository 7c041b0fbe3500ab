"""Atomic file writes: temporary file, fsync, rename. A crash leaves the old file or the new one."""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = ["atomic_write_bytes", "remove_leftovers", "WriteError"]


class WriteError(OSError):
    """A file could not be written (disk full, permissions, ...); the previous version is
    untouched."""


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        reason = err.strerror or str(err)
        code = f" [{errno.errorcode.get(err.errno, err.errno)}]" if err.errno else ""
        raise WriteError(
            err.errno,
            f"could not write {path}: {reason}{code}. The previous version of the file, if "
            f"any, is unchanged. Free disk space or fix the permissions of {path.parent}, "
            "then run again (a training run: `train --resume RUN_DIR`).",
        ) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_leftovers(folder: str | Path) -> list:
    """Delete the temporary files that writes into ``folder`` left when their process was killed
    mid-write (``.NAME.tmp-PID``); call it only while holding the folder's lock. Returns the
    removed paths."""
    removed = []
    for p in Path(folder).glob(".*.tmp-*"):
        if p.is_file() and p.name.rsplit(".tmp-", 1)[-1].isdigit():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
