"""What the arrays of a dataset of your own must be before they are cached: samples in every
split, one label row per sample, the spec's modality and channels, whole-number labels in range,
every class present."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import numpy as np

from .registry import DatasetInfo

__all__ = ["check_classes", "check_layout", "integer_labels"]


def check_layout(source: Path, key: str, x: np.ndarray, y: np.ndarray, info: DatasetInfo) -> None:
    """The arrays of one split against the spec, before anything is cached: samples present, one
    label row per sample, images or volumes as the spec's ``modality`` says."""
    split = key.rsplit("_", 1)[0] if "_" in key else "all"
    if len(x) == 0:
        raise ValueError(
            f"{source}: {key} is empty (0 samples); the {split} split needs samples. Add them, or "
            "give `images` and `labels` alone to be split by the spec's `split` fractions."
        )
    if len(np.asarray(y)) != len(x):
        raise ValueError(f"{source}: {len(x)} {key} but {len(np.asarray(y))} labels.")
    sample = x.shape[1:]
    flat_2d = len(sample) == 2 or (len(sample) == 3 and sample[-1] in (1, 3, 4))
    if info.is_3d and flat_2d:
        raise ValueError(
            f"{source}: {key} has shape {x.shape}, 2D images, but the spec of {info.name} says "
            "modality 3D; set `modality: 2d` in the spec, or give volumes (N, D, H, W)."
        )
    if not info.is_3d and len(sample) == 3 and sample[-1] == 2:
        raise ValueError(
            f"{source}: {key} has shape {x.shape}, images of 2 channels; {info.name} takes "
            "grayscale (N, H, W) or RGB (N, H, W, 3) images: keep one channel, or make three."
        )
    if not info.is_3d and not flat_2d:
        raise ValueError(
            f"{source}: {key} has shape {x.shape}, "
            + (
                f"volumes, but the spec of {info.name} says modality 2D; set `modality: 3d` in the "
                "spec, or give images."
                if len(sample) == 3
                else f"not a stack of images (N, H, W[, 3]) as {info.name} (2D) needs."
            )
        )
    if info.is_3d and len(sample) != 3:
        raise ValueError(
            f"{source}: {key} has shape {x.shape}, not a stack of volumes (N, D, H, W) as "
            f"{info.name} (3D) needs."
        )


def integer_labels(y: np.ndarray, where: str) -> np.ndarray:
    """``y`` as int64, refused unless every value is a whole number (a float 0.5 is not a class)."""
    if y.dtype == bool or np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.floating):
        raise ValueError(
            f"{where} has {y.dtype} labels; give integer class indices 0..K-1 (MedMNIST's layout)."
        )
    bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
    if len(bad):
        i = np.unravel_index(bad[0], y.shape)[0]
        raise ValueError(
            f"{where}: label {y.reshape(-1)[bad[0]].item()!r} of sample {i} is not a whole number "
            f"({len(bad)} such values); give integer class indices 0..K-1, not scores or soft "
            "labels."
        )
    return y.astype(np.int64)


def check_classes(
    info: DatasetInfo, labels: Dict[str, np.ndarray], names: List[str], source: Path
) -> None:
    """Labels in range, and every class present: a class without samples has no AUC and no
    accuracy to learn."""
    k = len(names)
    multilabel = info.is_multilabel
    top = 1 if multilabel else k - 1
    for s, y in labels.items():
        if len(y) and (y.min() < 0 or y.max() > top):
            raise ValueError(
                f"{source} ({s}): labels run from {y.min()} to {y.max()}, but the spec's {k} class "
                f"names allow {'0/1 per label' if multilabel else f'0..{k - 1}'}; fix the labels "
                "or class_names."
            )
    if multilabel:
        return
    seen = np.unique(np.concatenate([y[:, 0] for y in labels.values()]))
    missing = [names[c] for c in range(k) if c not in seen]
    if missing:
        raise ValueError(
            f"{source}: class(es) {missing} have no samples (an empty class folder?); remove them "
            "from class_names (and the folder) or add samples."
        )
