"""The report's dot plot of every label's scores per dataset."""

from __future__ import annotations

import math
from pathlib import Path
from statistics import mean, stdev

from ..utils.atomic import save_figure
from ..viz.run_figures import fit_title, outside_legend
from .references import reference_resnet18
from .table import ResultTable

__all__ = ["plot_scores"]


def plot_scores(
    table: ResultTable, path: str | Path, metric: str = "acc", inputs: str = ""
) -> Path:
    """Dot plot per dataset: each label's mean (± std over runs) beside MedMNIST v2's ResNet-18
    trained at 28 px (3D: ResNet-18+3D) and at 224 px; ``inputs`` (the kit's input sizes) goes
    into the title."""
    import matplotlib.pyplot as plt

    refs = (
        {}
        if table.references_absent
        else {
            "ResNet-18, trained at 28 px (3D: ResNet-18+3D)": ("_", reference_resnet18(28)),
            "ResNet-18, trained at 224 px": ("x", reference_resnet18(224)),
        }
    )
    # + the legend beside
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(table.datasets) + 2) + 3, 4))
    xs = list(range(len(table.datasets)))
    width = 0.6 / max(1, len(table.labels))
    for k, lab in enumerate(table.labels):
        pts = [
            (
                x + (k - (len(table.labels) - 1) / 2) * width,
                table.cells.get((lab, n), {}).get(metric),
            )
            for x, n in zip(xs, table.datasets)
        ]
        pts = [(x, [u for u in v if not math.isnan(u)]) for x, v in pts if v]
        pts = [(x, v) for x, v in pts if v]
        ax.errorbar(
            [x for x, _ in pts],
            [mean(v) for _, v in pts],
            yerr=[stdev(v) if len(v) > 1 else 0 for _, v in pts],
            fmt="o",
            capsize=3,
            label=f"{lab} (n={table.runs.get(lab, 0)})",
        )
    for name, (marker, ref) in refs.items():
        ax.scatter(
            [x for x, n in zip(xs, table.datasets) if n in ref],
            [ref[n][metric] for n in table.datasets if n in ref],
            marker=marker,
            s=200 if marker == "_" else 40,
            color="k",
            label=name,
        )
    ax.set_xticks(xs, table.datasets, rotation=45, ha="right", fontsize=8)
    ax.set(ylabel=f"test {metric.upper()}", ylim=(0, 1.02))
    fit_title(ax, f"Test {metric.upper()} per dataset" + (f" (inputs: {inputs})" if inputs else ""))
    outside_legend(ax)
    fig.tight_layout()
    path = Path(path)
    save_figure(fig, path, dpi=120)
    plt.close(fig)
    return path
