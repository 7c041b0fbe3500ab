"""Official MedMNIST npz files: locate, download on request, and memory-map.

``np.load(..., mmap_mode=...)`` is ignored for ``.npz`` archives, so a 224-size split would land
in RAM whole (PathMNIST-224 is ~16 GB). ``open_split`` therefore converts each array once,
streaming it out of the zip archive chunk by chunk, into a plain ``.npy`` file in a cache folder
and memory-maps that.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
from numpy.lib import format as npformat

from .cache_stamp import is_intact, stamp
from .checks import _check_arrays, _check_identity, _likely
from .download import _check_size, _download_hint, download
from .registry import DatasetInfo, get_info

__all__ = ["Split", "open_split", "download", "default_cache_dir", "MissingDataError"]

SPLITS = ("train", "val", "test")
#: Array name that marks a file of the kit's synthetic suite (its value: the suite's version),
#: wherever it lies.
MARKER = "mosaic_kit_synthetic"
_CHUNK = 64 << 20  # bytes per streamed copy


class MissingDataError(FileNotFoundError):
    """A dataset file is not on disk and downloading was not asked for."""


@dataclass
class Split:
    """One split of one dataset: uint8 images (memory-mapped) and integer labels."""

    info: DatasetInfo
    split: str
    images: np.ndarray  # (N, H, W[, C]) for 2D, (N, D, H, W) for 3D, uint8
    labels: np.ndarray  # (N, L) int64
    path: Optional[Path] = None  # the npz file it was read from
    cache: Optional[Path] = None  # its content-keyed cache folder
    synthetic: bool = False  # a file of the kit's synthetic suite (it carries the MARKER array)

    def __len__(self) -> int:
        return int(self.images.shape[0])


def default_cache_dir() -> Path:
    root = os.environ.get("MOSAIC_KIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "mosaic_kit"
    )
    return Path(root)


def _stream_member_to_npy(zf: zipfile.ZipFile, member: str, target: Path) -> None:
    """Copy one array out of an npz into ``target`` (.npy) without holding it in memory."""
    # per process: ranks of several nodes may convert at once
    tmp = target.with_suffix(f".npy.tmp-{os.getpid()}")
    try:
        with zf.open(member) as src:
            _copy_member(src, member, tmp, target)
        os.replace(tmp, target)
        stamp(target)
    finally:
        tmp.unlink(missing_ok=True)  # nothing half-written stays behind, whatever went wrong


def _copy_member(src, member: str, tmp: Path, target: Path) -> None:
    version = npformat.read_magic(src)
    read_header = (
        npformat.read_array_header_1_0 if version == (1, 0) else npformat.read_array_header_2_0
    )
    shape, fortran, dtype = read_header(src)
    need = int(np.prod(shape)) * dtype.itemsize
    free = shutil.disk_usage(target.parent).free
    if (
        need + (64 << 20) > free
    ):  # a memory map that outgrows the disk ends in SIGBUS: refuse before writing
        raise OSError(
            errno.ENOSPC,
            f"{member} needs {need / 2**30:.2f} GiB as a memory-mapped copy in {target.parent}, "
            f"which has {free / 2**30:.2f} GiB free; set cache_dir (or MOSAIC_KIT_CACHE) to a disk "
            "with room",
        )
    out = npformat.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape, fortran_order=fortran)
    flat = out.reshape(-1, order="F" if fortran else "C") if out.size else out
    done, itemsize = 0, dtype.itemsize
    while done < out.size:
        buf = src.read(min(_CHUNK, (out.size - done) * itemsize))
        if not buf:
            raise ValueError(
                f"{member} ends after {done} of {out.size} values: the npz file is truncated."
            )
        chunk = np.frombuffer(buf, dtype=dtype)
        flat[done : done + chunk.size] = chunk
        done += chunk.size
    out.flush()
    del out, flat


def _cache_folder(
    path: Path, cache_dir: Optional[str | Path], root: Path, info: DatasetInfo, size: int
) -> Tuple[Path, List[str]]:
    """The cache folder of ``path``, keyed by its content: the archive members' names, CRC-32s
    and sizes (read from the zip directory, nothing decompressed). A file rewritten with other
    arrays, even at the same size and time, gets a new folder; the first use of a new content
    says so when an older cache of the same file exists."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            sig = "|".join(f"{i.filename}:{i.CRC:08x}:{i.file_size}" for i in members)
    except zipfile.BadZipFile as err:
        raise ValueError(
            f"{path} is not a readable npz archive ({err}); it may be truncated: "
            f"delete it and download it again. {_download_hint(info, size, root)}"
        ) from None
    key = hashlib.sha1(f"{path.name}|{sig}".encode()).hexdigest()[:12]
    base = Path(cache_dir or default_cache_dir()) / "npy"
    folder = base / f"{path.stem}-{key}"
    if not folder.exists():
        source = str(path.resolve())
        stale = [
            f
            for f in base.glob(f"{path.stem}-*")
            if f != folder
            and (f / "source.txt").is_file()
            and (f / "source.txt").read_text().strip() == source
        ]
        if stale:
            print(
                f"note: {path} changed since its cache {stale[0].name} was made (other content): "
                "converting it again.",
                file=sys.stderr,
            )
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "source.txt").write_text(source + "\n")
    return folder, [i.filename for i in members]


def _mapped_copy(target: Path) -> Optional[np.ndarray]:
    """The cached copy, memory-mapped, where it is the one written (its stamp) and numpy can map
    it; None where it is missing or was cut short or changed."""
    if not target.exists() or not is_intact(target):
        return None
    try:
        return np.load(target, mmap_mode="r")
    except (ValueError, OSError, EOFError):
        return None


def open_split(
    root: str | Path,
    name: str,
    split: str,
    size: int = 28,
    *,
    download_missing: bool = False,
    cache_dir: Optional[str | Path] = None,
) -> Split:
    """Open ``split`` of dataset ``name`` at ``size`` from ``root`` as memory-mapped arrays."""
    info = get_info(name)
    _check_size(info, size)
    if split not in SPLITS:
        raise ValueError(f"Unknown split '{split}'; use one of {', '.join(SPLITS)}.")
    root = Path(root)
    path = root / info.file_name(size)
    if (
        not path.exists() and path.is_symlink()
    ):  # a dangling link or a loop: downloading would not help
        raise MissingDataError(
            f"{path} is a symbolic link that leads nowhere (its target is missing, or the link "
            f"points back to itself); fix the link, or remove it and give the file."
        )
    if not path.exists():
        if download_missing:
            download(name, size, root)
        else:
            raise MissingDataError(
                f"{path} not found (dataset {info.python_class}, size {size}). "
                + _download_hint(info, size, root)
            )
    folder, members = _cache_folder(path, cache_dir, root, info, size)
    arrays = {}
    for kind in ("images", "labels"):
        target = folder / f"{split}_{kind}.npy"
        arrays[kind] = _mapped_copy(target)
        if arrays[kind] is None and target.exists():
            print(
                f"note: the cached copy {target} changed since it was written (cut short or "
                f"edited): converting it again from {path}.",
                file=sys.stderr,
            )
            target.unlink()
        if arrays[kind] is None:
            folder.mkdir(parents=True, exist_ok=True)
            try:
                with zipfile.ZipFile(path) as zf:
                    member = f"{split}_{kind}.npy"
                    if member not in zf.namelist():
                        keys = ", ".join(n[:-4] for n in zf.namelist())
                        raise ValueError(
                            f"{path} has no '{split}_{kind}' array (it holds: {keys}); "
                            "is it an official MedMNIST file?"
                        )
                    _stream_member_to_npy(zf, member, target)
            except (zipfile.BadZipFile, zlib.error, EOFError) as err:
                raise ValueError(
                    f"{path} is not a readable npz archive ({err}); it may be truncated: "
                    f"delete it and download it again. {_download_hint(info, size, root)}"
                ) from None
            arrays[kind] = np.load(target, mmap_mode="r")
    images, labels = arrays["images"], np.asarray(arrays["labels"])
    try:
        _check_arrays(info, path, split, size, images, labels)
    except ValueError as err:
        likely = [n for n in _likely(images, labels, split) if n != info.name]
        raise ValueError(
            str(err) + (f" Its arrays fit {get_info(likely[0]).python_class}." if likely else "")
        ) from None
    if f"{MARKER}.npy" not in members:  # the kit's synthetic suite has its own split sizes
        _check_identity(info, path, split, images, labels)
    labels = labels.astype(np.int64).reshape(len(labels), -1)
    return Split(
        info=info,
        split=split,
        images=images,
        labels=labels,
        path=path,
        cache=folder,
        synthetic=f"{MARKER}.npy" in members,
    )
