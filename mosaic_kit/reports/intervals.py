"""Each configuration's mean score with its interval over seeds and samples, for the report's
tables."""

from __future__ import annotations

from typing import Optional, Sequence

from ..stats import (
    Interval,
    interval_of_mean,
)
from .compare import N_BOOT, arm, has_all_outputs
from .table import RunRecord

__all__ = ["mean_interval", "attach_intervals"]


def mean_interval(
    records: Sequence[RunRecord],
    metric: str,
    datasets: Optional[Sequence[str]] = None,
    split: str = "test",
    net: str = "student",
    n_boot: int = N_BOOT,
) -> Interval:
    """A configuration's mean score with its interval over seeds and samples (reported
    checkpoint)."""
    return interval_of_mean(arm(records, split, "best", net), metric, datasets, n_boot=n_boot)


def attach_intervals(
    table, records: Sequence[RunRecord], which: str = "student", n_boot: int = N_BOOT
) -> bool:
    """Fill ``table.ci`` with each label's interval of the mean test score, per dataset and
    group, over seeds and samples; returns False (and leaves it empty) where some run lacks
    per-sample outputs."""
    if not has_all_outputs(records):
        return False
    from ..data.registry import GROUPS, in_group

    for lab in table.labels:
        rs = [r for r in records if r.label == lab]
        names = list(dict.fromkeys(n for r in rs for n in r.results["datasets"]))
        rows = [(n, [n]) for n in names] + [
            (f"mean_{g}", [n for n in names if in_group(n, g)]) for g in GROUPS
        ]
        for row, ds in rows:
            if not ds:
                continue
            for m in ("acc", "auc"):
                iv = mean_interval(rs, m, ds, net=which, n_boot=n_boot)
                table.ci.setdefault((lab, row), {})[m] = (iv.low, iv.high)
                table.intervals[(lab, row, m)] = iv
    return True
