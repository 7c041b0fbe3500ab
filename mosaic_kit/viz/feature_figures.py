"""Figures of the specialists' feature spaces: a 2D map of features by dataset and specialist,
and pairwise heatmaps."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np

from ..data.registry import SPECIALIST_COLORS

__all__ = ["feature_map_figure", "pairwise_heatmap_figure"]


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
