"""The explorer's and predict's figures: a prediction over its image, the explorer's sample panel
and grid."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from .figures import overlay

__all__ = ["prediction_figure", "explorer_sample_figure", "explorer_grid_figure"]


def prediction_figure(pred, alpha: float = 0.45):
    """One ``Prediction`` (made with ``attention=True``): the input and its attention as a
    translucent overlay with a colour bar; a volume shows the middle slice along each axis."""
    import matplotlib.pyplot as plt

    img, att = pred.image, pred.attention
    if img.ndim == 3 and img.shape[-1] != 3:
        mids = [s // 2 for s in img.shape]
        views = [
            (img[mids[0]], att[mids[0]], f"slice {mids[0]} (axis 0)"),
            (img[:, mids[1]], att[:, mids[1]], f"slice {mids[1]} (axis 1)"),
            (img[:, :, mids[2]], att[:, :, mids[2]], f"slice {mids[2]} (axis 2)"),
        ]
    else:
        views = [(img, None, "input"), (img, att, "attention")]
    fig, axes = plt.subplots(1, len(views), figsize=(2.8 * len(views) + 0.8, 3.1), squeeze=False)
    shown = None
    for ax, (im, at, title) in zip(axes[0], views):
        shown = overlay(ax, im, at, False, alpha=alpha, title=title) or shown
    fig.colorbar(shown, ax=axes[0].tolist(), fraction=0.046, pad=0.02, label="attention rollout")
    fig.suptitle(
        f"{str(pred.source)[-32:]}: {pred.label[:40]} ({pred.top(1)[0][1]:.2f}), "
        f"specialist {pred.specialist or '-'}",
        fontsize=9,
    )
    return fig


def explorer_sample_figure(raw: np.ndarray, maps: Dict[str, Optional[np.ndarray]], state: Dict):
    """The explorer's sample view: the image with its true label, then each specialist's
    attention (translucent, one colour bar) and prediction; the routed one marked ★ and ✓/✗."""
    import matplotlib.pyplot as plt

    specs = list(maps)
    fig, axes = plt.subplots(1, len(specs) + 1, figsize=(2.3 * (len(specs) + 1) + 0.6, 2.8))
    sl, is_3d = state["slice"], state["is_3d"]
    where = f"\nslice {sl} of {raw.shape[0]}" if is_3d else ""
    overlay(axes[0], raw, None, is_3d, sl, title=f"true: {state['label_text'][:26]}{where}")
    shown = None
    for ax, s in zip(axes[1:], specs):
        title = (
            "backbone only"
            if s == "none"
            else f"specialist {s}{' ★' if s == state['routed'] else ''}"
        )
        p = state["predictions"][s]
        mark = (" ✓" if state["correct"] else " ✗") if s == state["routed"] else ""
        shown = (
            overlay(
                ax,
                raw,
                maps[s],
                is_3d,
                sl,
                title=f"{title}\n{p['name'][:18]} {p['prob']:.2f}{mark}",
            )
            or shown
        )
    if shown is not None:
        fig.colorbar(shown, ax=list(axes[1:]), fraction=0.025, pad=0.02, label="attention rollout")
    return fig


def explorer_grid_figure(raw: np.ndarray, state: Dict, cols: int = 6):
    """The explorer's grid page: each sample with its true label, titled ✓ (green) or ✗ (red)."""
    import matplotlib.pyplot as plt

    rows = -(-len(raw) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.8 * cols, 1.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, r, cell in zip(axes.flat, raw, state["grid"]):
        overlay(
            ax,
            r,
            None,
            state["is_3d"],
            state["slice"],
            title=f"{'✓' if cell['correct'] else '✗'} #{cell['index']}: {cell['label'][:16]}",
        )
        ax.title.set_color("#1a7f37" if cell["correct"] else "#b00")
    return fig
