"""What a run would fail on when it starts, found before any heavy work: the official MedMNIST
files absent from ``data_root`` with ``download`` off, and a backbone weights file that does not
exist. ``train --dry-run`` and ``suite --dry-run`` both ask it."""

from __future__ import annotations

from pathlib import Path
from typing import List

from ..config import Config
from ..data.registry import get_info, resolve_datasets

__all__ = ["missing_inputs_of"]


def missing_inputs_of(cfg: Config) -> List[str]:
    """One line per missing input of ``cfg``, each naming the file and the fix."""
    missing: List[str] = []
    if cfg.data_root != "synthetic" and not cfg.download:
        root = Path(cfg.data_root).expanduser()
        for name in resolve_datasets(cfg.datasets):
            info = get_info(name)
            if info.is_custom:
                continue
            path = root / info.file_name(cfg.size_3d if info.is_3d else cfg.size)
            if not path.is_file():
                where = "" if root.is_dir() else f" (the folder {root} does not exist)"
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
