"""``medmnist.INFO``, the facts of the 18 datasets, read without importing torch."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, Mapping

__all__ = ["medmnist_info"]


def medmnist_info() -> Mapping[str, Any]:
    """``medmnist.INFO`` without importing the package, whose ``__init__`` imports torch (seconds):
    medmnist's own ``info`` module, read alone. Configuration checks (dataset names, "did you mean")
    so run before any heavy import; the package itself is imported where data are loaded."""
    if "medmnist" in sys.modules:
        return sys.modules["medmnist"].INFO
    spec = importlib.util.find_spec("medmnist")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    info_file = Path(folders[0]) / "info.py" if folders else None
    if info_file is None or not info_file.is_file():  # another layout: the package, at its cost
        import medmnist

        return medmnist.INFO
    module_spec = importlib.util.spec_from_file_location("_mosaic_medmnist_info", info_file)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.INFO
