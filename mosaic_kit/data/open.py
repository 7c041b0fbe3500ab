"""Opening the splits of the selected datasets: the official files under ``data_root``, the
embedded synthetic suite, or your own datasets built from their sources."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

from .custom import build_custom
from .files import MissingDataError, Split, open_split
from .registry import get_info
from .synthetic import ensure_suite

__all__ = ["SYNTHETIC", "resolve_root", "open_datasets"]

SYNTHETIC = "synthetic"


def resolve_root(
    data_root: str, datasets: List[str], size: int, size_3d: int, cache_dir: Optional[str] = None
) -> Path:
    """The folder to read from: ``data_root`` itself, or the embedded suite (generated on first
    use)."""
    if data_root == SYNTHETIC:
        return ensure_suite(
            [n for n in datasets if not get_info(n).is_custom], size, size_3d, cache_dir
        )
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise MissingDataError(
            f"data_root '{data_root}' is not a folder. Point it at the folder holding the "
            "MedMNIST npz files (download=true, or `python -m mosaic_kit download`, fetches the "
            "official ones), or use data_root=synthetic for the embedded suite."
        )
    return root


def open_datasets(
    data_root: str,
    datasets: List[str],
    size: int = 28,
    size_3d: int = 28,
    splits=("train", "val", "test"),
    download_missing: bool = False,
    cache_dir: Optional[str] = None,
) -> Dict[str, Dict[str, Split]]:
    """Open every split of every selected dataset (2D at ``size``, 3D at ``size_3d``)."""
    official = [n for n in datasets if not get_info(n).is_custom]
    root = resolve_root(data_root, official, size, size_3d, cache_dir) if official else None
    out: Dict[str, Dict[str, Split]] = {}
    for name in datasets:
        info = get_info(name)
        s = size_3d if info.is_3d else size
        # your own: built from its source
        folder = build_custom(info, s, cache_dir) if info.is_custom else root
        out[name] = {
            split: open_split(
                folder, name, split, s, download_missing=download_missing, cache_dir=cache_dir
            )
            for split in splits
        }
    return out
