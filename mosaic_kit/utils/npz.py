"""Reading ``.npz`` archives with errors that name the file and the fix.

``np.load`` reports a truncated archive as "File is not a zip file", a corrupted member as "the
magic string is not correct", and any other file as pickled data it advises loading unsafely.
``open_npz`` turns each into one message that names the file, what it was meant to be and what to
do; pickled members are never loaded.
"""

from __future__ import annotations

import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

__all__ = ["open_npz"]

_BROKEN = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


def _message(path: Path, what: str, fix: str, err: BaseException) -> str:
    text = str(err)
    if "pickle" in text:
        cause = (
            "it is not an npz archive, or it holds Python objects (a pickle), which the kit never "
            "loads"
        )
    else:
        cause = (
            f"{type(err).__name__}: {text.splitlines()[0][:160] if text else 'unreadable'}; it may "
            "be truncated"
        )
    return f"{path} is not a readable {what} ({cause}). {fix}"


@contextmanager
def open_npz(
    path: str | Path, what: str = "npz archive", fix: str = "Re-create or re-download it."
) -> Iterator:
    """``np.load(path)`` of an ``.npz`` as a context manager (``allow_pickle=False``); unreadable
    files and members become a ``ValueError`` naming ``path``, ``what`` it should be and ``fix``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist ({what}).")
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, *_BROKEN) as err:
        raise ValueError(_message(path, what, fix, err)) from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is a single .npy array, not an npz archive ({what}). {fix}")
    with z:
        try:
            yield z
        except _BROKEN as err:
            raise ValueError(_message(path, what, fix, err)) from None
        except ValueError as err:
            if (
                "magic string" in str(err)
                or "pickle" in str(err)
                or "Failed to interpret" in str(err)
            ):
                raise ValueError(_message(path, what, fix, err)) from None
            raise
