"""Figures of what a model learnt: attention (student and teacher), attributions, feature maps
and pairwise heatmaps of specialists."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..data.registry import get_info
from .attention import rollout_map
from .attribution import integrated_gradients, patch_attributions
from .feature_figures import feature_map_figure, pairwise_heatmap_figure
from .figures import _slice, class_name, display_image, label_text, overlay

__all__ = [
    "attention_figure",
    "student_teacher_figure",
    "attribution_figure",
    "feature_map_figure",
    "pairwise_heatmap_figure",
]


def _sample_title(
    wb, dataset: str, split: str, idx: int, y, raw: np.ndarray, slice_index: Optional[int]
) -> str:
    """``dataset #idx``, the true label by name, and for a volume the slice shown."""
    synthetic = _synthetic(wb, dataset, split)
    title = f"{dataset} #{idx}\ntrue: {label_text(dataset, y, synthetic)[:24]}"
    if wb.is_3d(dataset):
        k = raw.shape[0] // 2 if slice_index is None else slice_index
        title += f"\nslice {k} of {raw.shape[0]}"
    return title


def _colorbar(fig, shown, axes, label: str = "attention rollout") -> None:
    if shown is not None:
        fig.colorbar(shown, ax=list(np.ravel(axes)), fraction=0.02, pad=0.01, label=label)


def _describe(dataset: str, logits: torch.Tensor, synthetic: bool = False) -> str:
    info = get_info(dataset)
    p = torch.sigmoid(logits) if info.is_multilabel else logits.softmax(-1)
    k = int(p.argmax())
    return f"{class_name(dataset, k, synthetic)[:18]} ({float(p[k]):.2f})"


def _synthetic(wb, dataset: str, split: str) -> bool:
    return bool(getattr(wb.data[dataset][split], "synthetic", False))


def attention_figure(
    wb,
    dataset: str,
    indices: Sequence[int],
    split: str = "test",
    which: str = "student",
    specialists: Optional[Sequence[str]] = None,
    slice_index: Optional[int] = None,
):
    """Rows = samples; columns = image, then the rollout with each specialist forced (routed one
    first, marked ★) and with the bare backbone. Titles give each column's prediction."""
    import matplotlib.pyplot as plt

    net = wb.net(which)
    routed = net.routing[dataset]
    specs = list(specialists or [routed] + [s for s in wb.specialists() if s != routed]) + ["none"]
    raw, y = wb.raw(dataset, split, indices)
    x = wb.prepared(dataset, split, indices)
    maps = {s: rollout_map(net, x, dataset, s, out_size=raw.shape[1]) for s in specs}
    is_3d = wb.is_3d(dataset)
    fig, axes = plt.subplots(
        len(indices),
        len(specs) + 1,
        figsize=(2.1 * (len(specs) + 1), 2.2 * len(indices)),
        squeeze=False,
    )
    shown = None
    for i, idx in enumerate(indices):
        overlay(
            axes[i, 0],
            raw[i],
            None,
            is_3d,
            slice_index,
            title=_sample_title(wb, dataset, split, idx, y[i], raw[i], slice_index),
        )
        for j, s in enumerate(specs, 1):
            logits, m = maps[s]
            name = (
                "backbone only" if s == "none" else f"specialist {s}{' ★' if s == routed else ''}"
            )
            shown = overlay(
                axes[i, j],
                raw[i],
                m[i].cpu().numpy(),
                is_3d,
                slice_index,
                title=f"{name}\n{_describe(dataset, logits[i], _synthetic(wb, dataset, split))}",
            )
    fig.suptitle(f"Attention rollout, {which} ({wb.source}); ★ = routed specialist", fontsize=9)
    fig.tight_layout()
    _colorbar(fig, shown, axes[:, 1:])
    return fig


def student_teacher_figure(
    wb, dataset: str, indices: Sequence[int], split: str = "test", slice_index: Optional[int] = None
):
    """Rows = samples; columns = image, student rollout, teacher rollout, |difference|."""
    import matplotlib.pyplot as plt

    raw, y = wb.raw(dataset, split, indices)
    x = wb.prepared(dataset, split, indices)
    (ls, ms), (lt, mt) = (
        rollout_map(wb.net(w), x, dataset, out_size=raw.shape[1]) for w in ("student", "teacher")
    )
    is_3d = wb.is_3d(dataset)
    fig, axes = plt.subplots(len(indices), 4, figsize=(8.8, 2.4 * len(indices)), squeeze=False)
    shown = None
    for i, idx in enumerate(indices):
        overlay(
            axes[i, 0],
            raw[i],
            None,
            is_3d,
            slice_index,
            title=_sample_title(wb, dataset, split, idx, y[i], raw[i], slice_index),
        )
        shown = overlay(
            axes[i, 1],
            raw[i],
            ms[i].numpy(),
            is_3d,
            slice_index,
            title=f"student\n{_describe(dataset, ls[i], _synthetic(wb, dataset, split))}",
        )
        overlay(
            axes[i, 2],
            raw[i],
            mt[i].numpy(),
            is_3d,
            slice_index,
            title=f"teacher\n{_describe(dataset, lt[i], _synthetic(wb, dataset, split))}",
        )
        overlay(
            axes[i, 3],
            raw[i],
            (ms[i] - mt[i]).abs().numpy(),
            is_3d,
            slice_index,
            title="|student - teacher|",
        )
    fig.tight_layout()
    _colorbar(fig, shown, axes[:, 1:], "attention rollout (and its difference)")
    return fig


def attribution_figure(
    wb,
    dataset: str,
    indices: Sequence[int],
    split: str = "test",
    which: str = "student",
    steps: int = 32,
    slice_index: Optional[int] = None,
) -> Tuple[object, np.ndarray]:
    """Rows = samples; columns = image, |IntegratedGradients| on the input, LayerIntegratedGradients
    per patch.

    Returns (figure, convergence deltas): IG's completeness error per sample, to judge ``steps``.
    """
    import matplotlib.pyplot as plt

    net = wb.net(which)
    raw, y = wb.raw(dataset, split, indices)
    x = wb.prepared(dataset, split, indices)
    attr, delta = integrated_gradients(net, dataset, x, steps=steps)
    per_patch = patch_attributions(net, dataset, x, steps=steps)
    is_3d = wb.is_3d(dataset)
    pixel = attr.abs().sum(1)  # over channels -> (B, H, W) or (B, D, H, W)
    size = (raw.shape[1],) * (3 if is_3d else 2)  # (B, H, W[, C]) or (B, D, H, W): side = shape[1]
    mode = "trilinear" if is_3d else "bilinear"
    pixel = F.interpolate(pixel.unsqueeze(1), size=size, mode=mode, align_corners=False).squeeze(1)
    patch = F.interpolate(per_patch.unsqueeze(1), size=size, mode="nearest").squeeze(1)
    fig, axes = plt.subplots(len(indices), 3, figsize=(6.6, 2.2 * len(indices)), squeeze=False)
    # [0, 1] per sample
    pixel = pixel / pixel.flatten(1).amax(1).clamp_min(1e-12).view(-1, *[1] * (pixel.ndim - 1))
    for i, idx in enumerate(indices):
        overlay(
            axes[i, 0],
            raw[i],
            None,
            is_3d,
            slice_index,
            title=_sample_title(wb, dataset, split, idx, y[i], raw[i], slice_index),
        )
        shown = overlay(
            axes[i, 1],
            raw[i],
            pixel[i].numpy(),
            is_3d,
            slice_index,
            title=f"|IG| (delta {float(delta[i]):+.1e})",
        )
        p = patch[i].numpy()
        lim = float(np.abs(p).max()) or 1.0
        ax = axes[i, 2]
        overlay(ax, raw[i], None, is_3d, slice_index, title="LayerIG on patch embedding")
        img = display_image(raw[i], is_3d, slice_index)
        signed = ax.imshow(
            _slice(p / lim, is_3d, raw[i].shape[0], slice_index),
            cmap="bwr",
            vmin=-1,
            vmax=1,
            alpha=0.55,
            extent=(0, img.shape[1], img.shape[0], 0),
        )
    fig.suptitle(f"Captum attributions, {which}: red supports the predicted class", fontsize=9)
    fig.tight_layout()
    _colorbar(fig, shown, axes[:, 1], "|IG| (per-sample max = 1)")
    _colorbar(fig, signed, axes[:, 2], "LayerIG (per-sample max |.| = 1)")
    return fig, delta.numpy()
