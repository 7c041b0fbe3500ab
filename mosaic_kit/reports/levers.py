"""The levers section: each label against the plan's baseline, judged on validation, and its
figure."""

from __future__ import annotations

import math
from pathlib import Path
from statistics import median
from typing import Sequence

from ..stats import MIN_SEEDS
from ..utils.atomic import save_figure
from .compare import (
    N_BOOT,
    has_all_outputs,
    lever_rows,
    short,
)
from .sections import NO_OUTPUTS, _labels, _which
from .table import RunRecord

__all__ = ["levers_md", "plot_levers"]


def levers_md(
    records: Sequence[RunRecord], baseline: str, n_boot: int = N_BOOT, judged=None, margins=None
) -> str:
    """Each label against ``baseline``, decided on validation only (``compare.lever_rows``, or
    its result given as ``judged``); empty when no label is ``baseline``."""
    base = [r for r in records if r.label == baseline]
    if not base or len(_labels(records)) < 2:
        return ""
    head = ["## Levers against the baseline, on validation", ""]
    if not has_all_outputs(records):
        return "\n".join(head + [NO_OUTPUTS, "", ""])
    rows, ckpt = judged or lever_rows(records, baseline, n_boot, margins)
    stated = {m: c.margin for row in rows for m, c in row.mean.items() if c.margin is not None}
    lines = head + [
        f"Lever − `{baseline}`, mean validation score over the datasets whose validation outputs "
        f"the lever changed ({_which(ckpt)}), in points: the paired difference over the seeds both "
        "ran and the same validation samples, its 95% interval (t over seeds plus the samples' "
        "bootstrap variance) and p-value Holm-corrected over the "
        f"{sum(c.testable for row in rows for c in row.mean.values())} testable comparisons of "
        f"this table; a verdict needs {MIN_SEEDS} shared seeds. *keep*: one metric better, none "
        "worse; *drop*: the reverse; "
        + (
            "*no effect within ±m*: both metrics equivalent within the plan's smallest effect of "
            "interest (" + ", ".join(f"±{100 * v:g} {m.upper()}" for m, v in stated.items()) + "); "
            if stated
            else "no smallest effect of interest is stated (`smallest_effect` in the plan), so no "
            "lever can be called without effect; "
        )
        + "*not shown either way*: neither, with the change the comparison could have detected "
        "(80% power); *not testable*: the lever left every validation output identical (e.g. it "
        "changes only which round is reported). Per dataset: the change of validation AUC with its "
        "interval (exploratory: no verdict). Test AUC: the change of the mean test AUC of the "
        "reported checkpoint on the same datasets, shown for reading only; it plays no part in the "
        "verdict. Wall time: median per run over the baseline's. Figure: `levers.png`.",
        "",
        "| lever | judged on | val ACC change | val AUC change | val AUC change per dataset | test "
        "AUC change (not used) | wall time | seeds | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def wall(rs: Sequence[RunRecord]) -> float:
        v = [float(r.results["wall_time_s"]) for r in rs if r.results.get("wall_time_s")]
        return median(v) if v else float("nan")

    for row in rows:
        rs = [r for r in records if r.label == row.label]
        ratio = wall(rs) / wall(base)
        per = ", ".join(
            f"{short(n)} {100 * c.diff:+.1f} [{100 * c.low:+.1f}, {100 * c.high:+.1f}]"
            for n, c in row.per_dataset.items()
        )
        test = row.test_auc
        on = ", ".join(short(n) for n in row.judged_on) or "–"
        lines.append(
            f"| {row.label} | {on} | {row.mean['acc'].text()} | {row.mean['auc'].text()} | {per} | "
            f"{100 * test.diff:+.1f} [{100 * test.low:+.1f}, {100 * test.high:+.1f}] | "
            f"{'–' if math.isnan(ratio) else f'{ratio:.2f}x'} | "
            f"{len(row.mean['auc'].seeds)} | {row.verdict} |"
        )
    return "\n".join(lines) + "\n\n"


def plot_levers(rows, path, baseline: str) -> Path:
    """Forest plot: each lever's change of mean validation ACC and AUC against ``baseline`` with
    its 95% interval, coloured by the verdict (Holm-corrected)."""
    import matplotlib.pyplot as plt

    colour = {"better": "tab:green", "worse": "tab:red", "equivalent": "tab:blue"}
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(rows) + 1.6), sharey=True)
    for ax, m in zip(axes, ("acc", "auc")):
        for i, row in enumerate(rows):
            c = row.mean[m]
            ax.errorbar(
                100 * c.diff,
                i,
                xerr=[[100 * (c.diff - c.low)], [100 * (c.high - c.diff)]],
                fmt="o",
                capsize=3,
                color=colour.get(c.verdict, "tab:gray"),
            )
        ax.axvline(0, color="k", lw=0.8)
        ax.set(xlabel=f"validation {m.upper()} change vs {baseline} (points)", title=m.upper())
    axes[0].set_yticks(range(len(rows)), [r.label for r in rows], fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle(
        "Levers, paired over seeds and validation samples (green/red: better/worse after "
        "Holm; blue: equivalent; grey: not shown either way)",
        fontsize=9,
    )
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)
    return Path(path)
