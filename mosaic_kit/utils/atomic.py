"""Every file the kit writes goes through here: written under a hidden name beside its target,
flushed, then renamed into place, so a crash leaves the old file or the new one. An operating-system
error (full disk, read-only folder, a file where a folder is expected) becomes one message that
names the target, never a hidden temporary path, and what a killed writer left beside a target is
removed by the next write of that target."""

from __future__ import annotations

import contextlib
import errno
import glob
import io
import os
import re
import shutil
from pathlib import Path
from typing import Iterator

__all__ = [
    "WriteError",
    "atomic_copy",
    "atomic_write_bytes",
    "make_folder",
    "remove_leftovers",
    "remove_stale",
    "save_figure",
    "staged_folder",
    "write_error",
]

#: the hidden names of writes in progress: ``.NAME.tmp-PID`` (files), ``.NAME.part-PID`` (folders)
_HIDDEN = re.compile(r"^\.(?P<name>.+)\.(?:tmp|part)-(?P<pid>\d+)$")
_CHUNK = 1 << 22


class WriteError(OSError):
    """A file or folder could not be written (disk full, permissions, ...); the previous version is
    untouched and no temporary file is left."""

    def __init__(self, code, message: str, reason: str = "") -> None:
        super().__init__(code, message)
        self.reason = reason

    def __str__(self) -> str:  # the message alone, without OSError's "[Errno N]"
        return self.strerror


def _fix(code, path: Path) -> str:
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"Free disk space on the drive of {path.parent} (or write elsewhere)"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"{path.parent} cannot be written by this user (its permissions, or a read-only "
            "drive): fix them or write elsewhere"
        )
    if code in (errno.ENOTDIR, errno.EEXIST):
        return f"A file stands where a folder is expected on the way to {path}: write elsewhere"
    if code == errno.EISDIR:
        return f"{path} is a folder: give a file's path"
    return "Check the path and its drive"


def write_error(err: OSError, path: str | Path, what: str = "") -> WriteError:
    """``err`` in the kit's words: what could not be written (``path``, never a temporary name),
    why, and the fix."""
    path = Path(path)
    reason = getattr(err, "reason", "") or err.strerror or str(err)
    code = f" [{errno.errorcode.get(err.errno, err.errno)}]" if err.errno else ""
    return WriteError(
        err.errno,
        f"could not write {what or path}: {reason}{code}. The previous version, if any, is "
        f"unchanged and nothing half-written is left. {_fix(err.errno, path)}, then run the "
        "command again.",
        reason,
    )


def _open_for_write(path: Path):
    """The one opener of every write (a test simulates a full or read-only drive here)."""
    return open(path, "wb")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(path: str | Path) -> list:
    """Delete what writers of ``path`` that are no longer running left beside it (``.NAME.tmp-PID``
    files, ``.NAME.part-PID`` folders, and the ``.NAME.part`` of earlier versions of the kit);
    returns the removed paths."""
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    for p in path.parent.glob(f".{glob.escape(path.name)}.*"):
        m = _HIDDEN.match(p.name)
        stale = p.name == f".{path.name}.part" or (
            m is not None and m["name"] == path.name and not _alive(int(m["pid"]))
        )
        if stale:
            try:  # best effort: a drive that cannot be written is reported by the write itself
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            except OSError:
                continue
            removed.append(p)
    return removed


def make_folder(path: str | Path) -> Path:
    """``mkdir -p path``, with the kit's message when it cannot be made."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_error(err, path, f"the folder {path}") from None
    return path


def _write_replace(path: Path, chunks) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with _open_for_write(tmp) as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all."""
    atomic_copy(io.BytesIO(data), path)


def atomic_copy(src, path: str | Path) -> None:
    """Copy the file ``src`` (a path or a binary file object) to ``path`` whole or not at all."""
    path = Path(path)
    remove_stale(path)
    make_folder(path.parent)
    try:
        with contextlib.ExitStack() as stack:
            fh = src if hasattr(src, "read") else stack.enter_context(open(src, "rb"))
            _write_replace(path, iter(lambda: fh.read(_CHUNK), b""))
    except OSError as err:
        if isinstance(src, (str, Path)) and getattr(err, "filename", None) == str(src):
            raise  # reading the source failed: not a write error
        raise write_error(err, path) from None
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_figure(fig, path: str | Path, **kwargs) -> Path:
    """``fig.savefig(path, **kwargs)`` through the kit's writer (format from the suffix)."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=(path.suffix.lstrip(".") or "png"), **kwargs)
    atomic_write_bytes(path, buf.getvalue())
    return path


@contextlib.contextmanager
def staged_folder(path: str | Path) -> Iterator[Path]:
    """Build the folder ``path`` under a hidden name beside it and rename it into place when the
    ``with`` block ends without error; on error nothing is left (an empty ``path`` is replaced,
    anything else is the caller's to refuse first)."""
    path = Path(path)
    remove_stale(path)
    make_folder(path.parent)
    tmp = path.with_name(f".{path.name}.part-{os.getpid()}")
    try:
        tmp.mkdir()
        yield tmp
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
        os.replace(tmp, path)
    except OSError as err:
        ours = isinstance(err, WriteError) or str(tmp) in str(getattr(err, "filename", "") or "")
        if ours or err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise write_error(err, path, f"the folder {path}") from None
        raise  # reading an input failed: not a write error
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
