"""Whether a memory-mapped ``.npy`` copy in the cache is still the one the kit wrote.

The copies are derived data: written once from the official npz file (atomically), then read on
every open. A copy cut short by a full disk of another program, or changed in place, would be read
as the dataset: a shorter file fails in numpy with a message that names neither the file nor the
fix, and a changed one is read silently. Each copy gets a stamp (its size and modification time)
when written; a copy whose stamp no longer matches is converted again from its source.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["stamp", "is_intact"]


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".stamp")


def _facts(target: Path) -> dict:
    st = target.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def stamp(target: Path) -> None:
    """Record ``target`` as written (after it was moved into place)."""
    _stamp_path(target).write_text(json.dumps(_facts(target)))


def is_intact(target: Path) -> bool:
    """Whether ``target`` is what was stamped; a copy from before stamps is stamped now and trusted
    (numpy still refuses one that is too short)."""
    path = _stamp_path(target)
    if not path.is_file():
        try:
            stamp(target)
        except OSError:  # a read-only shared cache: as before stamps
            pass
        return True
    try:
        return json.loads(path.read_text()) == _facts(target)
    except (OSError, ValueError):
        return False
