"""Matplotlib figures for the attention, attribution and subspace notebooks (they call these and
show them).

3D samples are shown as one axial slice (the middle one unless ``slice_index`` says otherwise);
maps of 3D inputs are sliced the same way.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..data.registry import SPECIALIST_COLORS, get_info
from .attention import rollout_map
from .attribution import integrated_gradients, patch_attributions

__all__ = [
    "display_image",
    "overlay",
    "class_name",
    "label_text",
    "attention_figure",
    "student_teacher_figure",
    "attribution_figure",
    "feature_map_figure",
    "pairwise_heatmap_figure",
]


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
    pixel = pixel / pixel.flatten(1).amax(1).clamp_min(1e-12).view(
        -1, *[1] * (pixel.ndim - 1)
    )  # [0, 1] per sample
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


def feature_map_figure(
    points: np.ndarray, datasets: np.ndarray, specialists: np.ndarray, title: str = ""
):
    """Two scatter panels of the same 2D map: coloured by dataset, and by specialist."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.4))
    sns.scatterplot(
        x=points[:, 0], y=points[:, 1], hue=datasets, s=10, ax=a1, palette="tab20", linewidth=0
    )
    a1.legend(fontsize=6, markerscale=1.5, ncol=2, loc="best")
    a1.set_title("coloured by dataset")
    sns.scatterplot(
        x=points[:, 0],
        y=points[:, 1],
        hue=specialists,
        s=10,
        ax=a2,
        linewidth=0,
        palette={s: SPECIALIST_COLORS.get(s, "grey") for s in np.unique(specialists)},
    )
    a2.set_title("coloured by routed specialist")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def pairwise_heatmap_figure(
    values: Dict[Tuple[str, str], np.ndarray],
    title: str,
    cbar: str,
    vmin: Optional[float] = None,
    vmax: Optional[float] = None,
):
    """Heat map: rows = specialist pairs, columns = layers."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    pairs = list(values)
    grid = np.stack([values[p] for p in pairs])
    fig, ax = plt.subplots(figsize=(max(5, 0.5 * grid.shape[1] + 2), 0.6 * len(pairs) + 1.4))
    sns.heatmap(
        grid,
        ax=ax,
        annot=grid.shape[1] <= 16,
        fmt=".2f",
        cmap="viridis",
        vmin=vmin,
        vmax=vmax,
        yticklabels=[f"{a}–{b}" for a, b in pairs],
        xticklabels=list(range(grid.shape[1])),
        cbar_kws={"label": cbar},
    )
    ax.set(xlabel="layer", title=title)
    fig.tight_layout()
    return fig
