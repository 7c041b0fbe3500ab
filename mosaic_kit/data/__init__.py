"""Data: the 18 datasets' facts, official files, the synthetic suite, your own datasets.

The names below are loaded on first use (PEP 562), so that checking a configuration, which needs
only the registry, imports neither numpy's readers nor torch."""

from __future__ import annotations

import importlib
from typing import Any

# light (no numpy, no torch), and imported now so that the function, not its module of the same
# name, is ``mosaic_kit.data.download`` whichever is imported first
from .download import download as download

#: public name -> the module of this wing that defines it
_WHERE = {
    "dataset_provenance": "provenance",
    "Split": "files",
    "MissingDataError": "files",
    "open_split": "files",
    "default_cache_dir": "files",
    "BatchStream": "stream",
    "iter_batches": "stream",
    "take": "stream",
    "ensure_suite": "synthetic",
    "make_dataset": "synthetic",
    "write_suite": "synthetic",
    "Normalization": "transforms",
    "prepare_2d": "transforms",
    "prepare_3d": "transforms",
    "SYNTHETIC": "open",
    "resolve_root": "open",
    "open_datasets": "open",
    "build_custom": "custom",
    "get_info": "registry",
}

__all__ = sorted([*_WHERE, "download"])


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_WHERE))
