"""File and folder keys as absolute paths, so a run directory (and its notebooks, which run with
the run directory as their working folder) finds its data and weights from anywhere."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

from .core import Config, path_keys

__all__ = ["absolute", "with_absolute_paths", "is_hub_spec", "HUB_WEIGHTS_PREFIX"]

#: ``weights=timm:ARCH[.TAG]`` names timm's pretrained weights instead of a file
#: (``models.pretrained`` finds them).
HUB_WEIGHTS_PREFIX = "timm:"


def is_hub_spec(weights: Optional[str]) -> bool:
    """Whether a ``weights`` value names timm's pretrained weights rather than a file."""
    return isinstance(weights, str) and weights.startswith(HUB_WEIGHTS_PREFIX)


def absolute(value: Any, root: Optional[Path] = None) -> Any:
    """A relative path resolved against ``root`` (default: the working folder); lists element by
    element; other values (``synthetic``, ``timm:NAME``, None, absolute paths) as they are."""
    if isinstance(value, list):
        return [absolute(v, root) for v in value]
    if (
        isinstance(value, str)
        and value
        and value != "synthetic"
        and not is_hub_spec(value)
        and not Path(value).expanduser().is_absolute()
    ):
        return str(((root or Path.cwd()) / Path(value).expanduser()).resolve())
    return value


def with_absolute_paths(cfg: Config, root: Optional[Path] = None) -> Config:
    """``cfg`` with every path key (``data_root``, ``weights``, ``cache_dir``,
    ``custom_datasets``, ...) absolute."""
    shared = {f.name for f in dataclasses.fields(Config)}
    changes = {k: absolute(getattr(cfg, k), root) for k in path_keys()}
    out = dataclasses.replace(cfg, **{k: v for k, v in changes.items() if k in shared})
    out.method_options.update({k: v for k, v in changes.items() if k not in shared})
    return out
