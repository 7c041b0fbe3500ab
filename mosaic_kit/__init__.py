"""mosaic_kit: one frozen ViT for all 18 MedMNIST datasets through a Mixture-of-Specialists
adapter (MOSAIC)."""

from __future__ import annotations

__version__ = "0.3.0"  # the one place the version is set (pyproject reads it)

__all__ = ["Config", "load_config", "compute_metrics", "load", "__version__"]

_LAZY = {"Config": "config", "load_config": "config", "compute_metrics": "evaluation.metrics"}


def __getattr__(name: str):
    """``mosaic_kit.Config`` and friends, imported on first use (the package itself imports
    neither torch nor timm, so the command line answers ``--help`` at once)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'mosaic_kit' has no attribute '{name}'")


def load(
    run_dir, checkpoint: str = "best", which: str = "student", device: str = "cpu", weights=None
):
    """A trained run as a ``Predictor``: ``mosaic_kit.load("runs/demo").predict(images,
    dataset="breastmnist")`` (see ``mosaic_kit.share.predict``)."""
    from .share.load import load as _load

    return _load(run_dir, checkpoint, which, device, weights)
