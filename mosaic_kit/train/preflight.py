"""What a run would fail on when it starts, found before any heavy work: the official MedMNIST
files absent from ``data_root`` with ``download`` off, and a backbone weights file that does not
exist. ``train --dry-run`` and ``suite --dry-run`` both ask it."""

from __future__ import annotations

from pathlib import Path
from typing import List

from ..config import Config
from ..data.registry import get_info, resolve_datasets

__all__ = ["missing_inputs_of", "absent_files"]


def absent_files(cfg: Config) -> List[Path]:
    """The official files ``cfg`` reads that are not under ``data_root`` (none for synthetic)."""
    if cfg.data_root == "synthetic":
        return []
    root = Path(cfg.data_root).expanduser()
    out = []
    for name in resolve_datasets(cfg.datasets):
        info = get_info(name)
        if not info.is_custom:
            path = root / info.file_name(cfg.size_3d if info.is_3d else cfg.size)
            if not path.is_file():
                out.append(path)
    return out


def missing_inputs_of(cfg: Config) -> List[str]:
    """One line per missing input of ``cfg``, each naming the file and the fix."""
    missing: List[str] = []
    if not cfg.download:
        for path in absent_files(cfg):
            where = "" if path.parent.is_dir() else f" (the folder {path.parent} does not exist)"
            missing.append(
                f"data file {path} is missing{where} and download is off (set download=true, "
                "or put the official file there)"
            )
    weights = str(cfg.weights or "")
    if weights and not weights.startswith("timm:") and not Path(weights).expanduser().is_file():
        missing.append(
            f"weights file {weights} does not exist (point `weights` at it, or use timm:NAME)"
        )
    return missing
