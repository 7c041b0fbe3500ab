"""Figures of a scaling sweep: the score against trainable parameters per family, and wall time."""

from __future__ import annotations

import math
from pathlib import Path
from statistics import mean, stdev
from typing import Dict, Sequence

from ..utils.atomic import save_figure
from .scaling import ScalingPoint, _families
from .table import METRICS, ResultTable

__all__ = ["plot_scaling", "plot_wall_time", "plot_wall_time_per_dataset"]


def plot_scaling(points: Sequence[ScalingPoint], path: str | Path, title: str = "") -> Path:
    """Two panels (ACC, AUC): x = trainable parameters (log scale), one line per family, error
    bars = std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, metric in zip(axes, METRICS):
        for i, (fam, ps) in enumerate(_families(points).items()):
            x = [p.params for p in ps]
            y = [100 * p.mean(metric) for p in ps]
            ax.errorbar(
                x,
                y,
                yerr=[100 * p.std(metric) for p in ps],
                marker="o",
                ms=4,
                capsize=3,
                label=fam,
                color=f"C{i}",
                ls="-" if len(ps) > 1 else "none",
            )
        ax.set(
            xscale="log",
            xlabel="trainable parameters (log scale)",
            ylabel=f"mean test {metric.upper()} (%)",
        )
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    fig.suptitle(
        title or "accuracy against trainable parameters (error bars: std over seeds)", fontsize=10
    )
    fig.tight_layout()
    path = Path(path)
    save_figure(fig, path, dpi=120)
    plt.close(fig)
    return path


def plot_wall_time(points: Sequence[ScalingPoint], path: str | Path) -> Path:
    """Two panels (ACC, AUC): x = wall time per run in minutes, one labelled point per label;
    error bars = std over seeds on both axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [p for p in points if p.wall]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    for ax, metric in zip(axes, METRICS):
        for i, p in enumerate(shown):
            x = [w / 60 for w in p.wall]
            ax.errorbar(
                mean(x),
                100 * p.mean(metric),
                xerr=stdev(x) if len(x) > 1 else 0,
                yerr=100 * p.std(metric),
                marker="o",
                ms=4,
                capsize=3,
                color=f"C{i % 10}",
            )
            ax.annotate(
                p.label,
                (mean(x), 100 * p.mean(metric)),
                fontsize=7,
                xytext=(4, 3),
                textcoords="offset points",
            )
        ax.set(xlabel="wall time per run (min)", ylabel=f"mean test {metric.upper()} (%)")
        ax.grid(alpha=0.3)
    fig.suptitle("accuracy against wall time (error bars: std over seeds)", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    save_figure(fig, path, dpi=120)
    plt.close(fig)
    return path


def plot_wall_time_per_dataset(
    table: ResultTable,
    path: str | Path,
    metric: str = "auc",
    references: Dict[str, Dict[str, Dict[str, float]]] | None = None,
    inputs: str = "",
) -> Path:
    """One panel per dataset: test ``metric`` against wall time per run, one labelled point per
    label (error bars: std over seeds on both axes), and the published references given as
    ``{name: {dataset: {metric: value}}}`` (e.g. ResNet-18 trained at 28 and at 224 px) as lines:
    how far each lever goes toward them and at what cost. ``inputs`` (the kit's input sizes) goes
    into the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [lab for lab in table.labels if table.wall.get(lab)]
    n = len(table.datasets)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.2), squeeze=False)
    for ax, name in zip(axes[0], table.datasets):
        for i, lab in enumerate(labels):
            x = [w / 60 for w in table.wall[lab]]
            y = [
                100 * v
                for v in table.cells.get((lab, name), {}).get(metric, [])
                if not math.isnan(v)
            ]
            if not y:
                continue
            ax.errorbar(
                mean(x),
                mean(y),
                xerr=stdev(x) if len(x) > 1 else 0,
                yerr=stdev(y) if len(y) > 1 else 0,
                marker="o",
                ms=4,
                capsize=3,
                color=f"C{i % 10}",
            )
            ax.annotate(
                lab, (mean(x), mean(y)), fontsize=7, xytext=(4, 3), textcoords="offset points"
            )
        for k, (ref_name, refs) in enumerate((references or {}).items()):
            ref = refs.get(name, {}).get(metric)
            if ref is None:
                continue
            ax.axhline(100 * ref, ls=("--", ":")[k % 2], color="k", lw=1)
            ax.annotate(
                f"{ref_name} {100 * ref:.1f}",
                (0, 100 * ref),
                xycoords=("axes fraction", "data"),
                fontsize=7,
                xytext=(3, 3 - 10 * k),
                textcoords="offset points",
            )
        ax.set(title=name, xlabel="wall time per run (min)", ylabel=f"test {metric.upper()} (%)")
        ax.grid(alpha=0.3)
    fig.suptitle(
        f"test {metric.upper()} against wall time per run (error bars: std over seeds)"
        + (f"; inputs {inputs}" if inputs else ""),
        fontsize=10,
    )
    fig.tight_layout()
    path = Path(path)
    save_figure(fig, path, dpi=120)
    plt.close(fig)
    return path
