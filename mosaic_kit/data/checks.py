"""What a split file must hold: arrays of the dataset's shape, dtype and label range; when it
does not, which dataset it looks like."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List

import numpy as np

from .registry import ALL_DATASETS, DatasetInfo, get_info

__all__ = []


def _check_arrays(
    info: DatasetInfo, path: Path, split: str, size: int, images: np.ndarray, labels: np.ndarray
) -> None:
    """Refuse arrays the kit would misread, with the problem and the fix in the message."""
    where = f"{path}: {split}"
    if info.is_3d and images.ndim == 3:
        raise ValueError(
            f"{where}_images has shape {images.shape}: 2D images, but {info.python_class} is a 3D "
            "dataset of (N, S, S, S) volumes. Is this the file of a 2D dataset renamed?"
        )
    if not info.is_3d and images.ndim == 4 and images.shape[-1] != 3:
        raise ValueError(
            f"{where}_images has shape {images.shape}: 3D volumes, but {info.python_class} is a 2D "
            "dataset of (N, S, S[, 3]) images. Is this the file of a 3D dataset renamed?"
        )
    expected_ndim = 4 if info.is_3d or info.n_channels == 3 else 3
    sides = images.shape[1:4] if info.is_3d else images.shape[1:3]
    if images.ndim != expected_ndim or tuple(sides) != (size,) * (3 if info.is_3d else 2):
        want = (
            "(N, S, S, S)" if info.is_3d else "(N, S, S" + (", 3)" if info.n_channels == 3 else ")")
        )
        raise ValueError(
            f"{where}_images has shape {images.shape}, expected {want} with S={size} for "
            f"{info.python_class} ({info.modality}); check the file's size suffix."
        )
    if images.dtype != np.uint8:
        raise ValueError(
            f"{where}_images has dtype {images.dtype}; official MedMNIST files hold uint8 (0-255). "
            "Convert with np.clip(x, 0, 255).astype(np.uint8) if the values are in that range."
        )
    if len(images) == 0:
        raise ValueError(
            f"{where} split is empty (0 images); the file is incomplete: download it again."
        )
    if len(labels) != len(images):
        raise ValueError(f"{where}: {len(images)} images but {len(labels)} labels.")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{where}_labels has dtype {labels.dtype}; class labels must be integers.")
    flat = labels.reshape(len(labels), -1)
    width = info.n_classes if info.is_multilabel else 1
    if flat.shape[1] != width:
        raise ValueError(
            f"{where}_labels has {flat.shape[1]} columns, expected {width} for {info.python_class} "
            f"({info.task})."
        )
    high = 1 if info.is_multilabel else info.n_classes - 1
    lo, hi = int(flat.min()), int(flat.max())
    if lo < 0 or hi > high:
        raise ValueError(
            f"{where}_labels range from {lo} to {hi}, but {info.python_class} ({info.task}) allows "
            f"0..{high}; the labels do not belong to this dataset."
        )


def _likely(images: np.ndarray, labels: np.ndarray, split: str) -> List[str]:
    """Datasets whose medmnist.INFO fits these arrays: modality, channels, label width and range,
    split size."""
    if (
        len(labels) == 0
        or len(labels) != len(images)
        or not np.issubdtype(labels.dtype, np.integer)
    ):
        return []
    flat = labels.reshape(len(labels), -1)
    is_3d, rgb = (
        images.ndim == 4 and images.shape[-1] != 3,
        images.ndim == 4 and images.shape[-1] == 3,
    )
    out = []
    for name in ALL_DATASETS:
        i = get_info(name)
        width, high = (i.n_classes, 1) if i.is_multilabel else (1, i.n_classes - 1)
        if (
            i.is_3d == is_3d
            and (i.n_channels == 3) == rgb
            and flat.shape[1] == width
            and int(flat.max()) <= high
            and i.n_samples.get(split) == len(images)
        ):
            out.append(name)
    return out


def _check_identity(
    info: DatasetInfo, path: Path, split: str, images: np.ndarray, labels: np.ndarray
) -> None:
    """A split whose size is exactly another dataset's (and not this one's) is that dataset's
    file, renamed."""
    expected = info.n_samples.get(split)
    if expected is None or len(images) == expected:
        return
    others = [n for n in _likely(images, labels, split) if n != info.name]
    if not others:
        print(
            f"note: {path}: the {split} split has {len(images)} images where {info.python_class}'s "
            f"official file has {expected}; results are for this file, not the official split.",
            file=sys.stderr,
        )
    else:
        other = get_info(others[0])
        raise ValueError(
            f"{path}: the {split} split has {len(images)} images, {info.python_class}'s has "
            f"{expected}; its size, shape and labels are those of {other.python_class} "
            f"({other.file_name(28)} family). The file was most likely saved under the wrong name: "
            f"rename it, or download {info.file_name(28)} again."
        )
