"""Checks of a plan's runs before any starts: each run's configuration valid, every input file
present."""

from __future__ import annotations

from ..data.registry import build_routing, resolve_datasets
from ..methods import get_method

__all__ = []


def _validate(cfg, where: str) -> None:
    """What load_config cannot know: the method exists, the datasets and routing resolve."""
    try:
        get_method(cfg.method)
        build_routing(resolve_datasets(cfg.datasets), cfg.routing)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
