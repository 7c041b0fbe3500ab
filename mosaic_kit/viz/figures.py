"""Matplotlib figures for the attention, attribution and subspace notebooks (they call these and
show them).

3D samples are shown as one axial slice (the middle one unless ``slice_index`` says otherwise);
maps of 3D inputs are sliced the same way.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..data.registry import get_info

__all__ = ["display_image", "overlay", "class_name", "label_text"]


def display_image(raw: np.ndarray, is_3d: bool, slice_index: Optional[int] = None) -> np.ndarray:
    """A uint8 sample as something ``imshow`` draws: (H, W) grey or (H, W, 3) colour; 3D -> one
    slice."""
    if is_3d:
        return raw[raw.shape[0] // 2 if slice_index is None else slice_index]
    return raw


def _slice(m: np.ndarray, is_3d: bool, depth: int, slice_index: Optional[int]) -> np.ndarray:
    if not is_3d:
        return m
    k = depth // 2 if slice_index is None else slice_index
    return m[int(round((k + 0.5) * m.shape[0] / depth - 0.5))]


def overlay(
    ax,
    raw: np.ndarray,
    heat: Optional[np.ndarray],
    is_3d: bool,
    slice_index: Optional[int] = None,
    alpha: float = 0.45,
    cmap: str = "inferno",
    title: str = "",
):
    """Draw a sample and (if given) a translucent [0, 1] heat map of the same field of view on
    top of it, so the image stays visible; returns the heat map's artist (for a colour bar), or
    None."""
    img = display_image(raw, is_3d, slice_index)
    h, w = img.shape[:2]
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, extent=(0, w, h, 0), vmin=0, vmax=255)
    shown = None
    if heat is not None:
        shown = ax.imshow(
            _slice(heat, is_3d, raw.shape[0], slice_index),
            cmap=cmap,
            alpha=alpha,
            extent=(0, w, h, 0),
            vmin=0,
            vmax=1,
        )
    ax.set_title(title, fontsize=8)
    ax.axis("off")
    return shown


def class_name(dataset: str, k: int, synthetic: bool = False) -> str:
    """The dataset's class name, or for the kit's synthetic data a neutral one (its patterns are
    not findings)."""
    return f"synthetic class {k}" if synthetic else get_info(dataset).labels.get(str(k), str(k))


def label_text(dataset: str, y, synthetic: bool = False) -> str:
    """A true label as text: ``"1: malignant"``, or the positive labels of a multi-label sample."""
    if get_info(dataset).is_multilabel:
        return (
            ", ".join(class_name(dataset, i, synthetic) for i, v in enumerate(y) if v)
            or "no finding"
        )
    return f"{int(y[0])}: {class_name(dataset, int(y[0]), synthetic)}"
