"""Named contrasts of a plan (``contrasts: [{a, b, question}]``): A − B on the test split, per
dataset, per specialist (the datasets MOSAIC routes to A, B or C) and for the mean over datasets,
each by the paired rule over the seeds both labels ran and the same test samples
(``stats.paired_differences``).

The test split of the reported (best-validation) checkpoint, as the tables show. A contrast is
one question and one family: its rows (each dataset, each specialist, the mean) and both metrics
are Holm-corrected together, so a verdict word on a per-dataset row is as safe as one on the
mean. With the plan's ``smallest_effect``, "equivalent within ±m" is a verdict too. Beside each
contrast: both labels' trainable parameters and median wall time per run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ..data.registry import SPECIALISTS, build_routing
from ..stats import Comparison, holm, paired_differences
from ..utils.atomic import save_figure
from .compare import N_BOOT, arm, has_all_outputs, short
from .table import RunRecord

__all__ = ["ContrastRow", "contrast_rows", "contrasts_md", "plot_contrasts", "specialist_groups"]


@dataclass
class ContrastRow:
    a: str
    b: str
    question: str
    # (row name, its datasets): each dataset, each specialist, the mean
    rows: List[Tuple[str, List[str]]]
    found: Dict[Tuple[str, str], Comparison]  # (row name, metric) -> A - B


def specialist_groups(records: Sequence[RunRecord]) -> Dict[str, List[str]]:
    """``{"A": [...], "B": [...], "C": [...]}``: the datasets of the runs by the specialist
    MOSAIC routes them to (with the runs' own routing overrides)."""
    names = list(dict.fromkeys(n for r in records for n in r.results["datasets"]))
    # runs record the routing they trained with; a MOSAIC run's (A/B/C) wins
    routing = build_routing(names)
    for r in records:
        routing.update(
            {
                k: v
                for k, v in (r.results.get("routing") or {}).items()
                if k in routing
                # other methods record their own path names ("backbone", ...)
                and v in SPECIALISTS
            }
        )
    groups: Dict[str, List[str]] = {}
    for name, spec in routing.items():
        groups.setdefault(spec, []).append(name)
    return dict(sorted(groups.items()))


def _rows(records: Sequence[RunRecord], a: Sequence[RunRecord]) -> List[Tuple[str, List[str]]]:
    names = list(dict.fromkeys(n for r in a for n in r.results["datasets"]))
    rows = [(short(n), [n]) for n in names]
    groups = {s: [n for n in ds if n in names] for s, ds in specialist_groups(records).items()}
    rows += [
        (f"specialist {s} ({' + '.join(short(n) for n in ds)})", ds)
        for s, ds in groups.items()
        if len(ds) > 1
    ]  # a specialist of one dataset is that dataset's row
    return rows + ([("mean", names)] if len(names) > 1 else [])


def contrast_rows(
    records: Sequence[RunRecord],
    contrasts: Sequence[Mapping[str, str]],
    n_boot: int = N_BOOT,
    margins: Optional[Mapping[str, float]] = None,
) -> List[ContrastRow]:
    """Every contrast whose labels both have runs; Holm over the rows and metrics of each
    contrast (its family)."""
    out = []
    for c in contrasts:
        a = [r for r in records if r.label == c["a"]]
        b = [r for r in records if r.label == c["b"]]
        if not a or not b:
            continue
        rows = _rows(records, a)
        sa, sb = arm(a, "test", "best"), arm(b, "test", "best")
        found = {
            (row, m): c
            for row, ds in rows
            for m, c in paired_differences(sa, sb, ds, n_boot=n_boot, margins=margins).items()
        }
        holm(list(found.values()))
        out.append(ContrastRow(c["a"], c["b"], c.get("question", ""), rows, found))
    return out


def _median(values: Sequence[float]) -> float:
    v = [float(x) for x in values if x is not None]
    return median(v) if v else float("nan")


def contrasts_md(
    records: Sequence[RunRecord],
    contrasts: Sequence[Mapping[str, str]],
    found=None,
    n_boot: int = N_BOOT,
    margins: Optional[Mapping[str, float]] = None,
) -> str:
    """The report's "Contrasts" section (empty without contrasts)."""
    if not contrasts:
        return ""
    head = ["## Contrasts, on test", ""]
    if not has_all_outputs(records):
        from .sections import NO_OUTPUTS

        return "\n".join(head + [NO_OUTPUTS, "", ""])
    found = contrast_rows(records, contrasts, n_boot, margins) if found is None else found
    stated = next(
        (c.margin for row in found for c in row.found.values() if c.margin is not None), None
    )
    lines = head + [
        "A − B in points, test split of the reported (best-validation) checkpoint: the paired "
        "difference over the seeds both labels ran and the same test samples, its 95% interval (t "
        "over seeds plus the samples' bootstrap variance; per comparison, not adjusted) and "
        "p-value Holm-corrected within its contrast: each contrast is one question, and its rows "
        "(per dataset, per specialist (the datasets routed to the same MOSAIC specialist) and the "
        "mean) and both metrics are one family; rows whose outputs are identical in both labels "
        "are not testable and stay out of it. A verdict needs 5 shared seeds. "
        + (
            "'equivalent within ±m': both one-sided tests against the plan's smallest effect of "
            f"interest reject ({_margins(found)}). "
            if stated is not None
            else "No smallest effect of interest is stated (`smallest_effect` in the plan), so no "
            "row can say 'equivalent'. "
        )
        + "'detectable': the true difference this comparison finds with 80% power at 5% before the "
        "correction. Figure: `contrasts.png`.",
        "",
    ]
    for row in found:
        a = [r for r in records if r.label == row.a]
        b = [r for r in records if r.label == row.b]
        params = {
            lab: _median([(r.results.get("params") or {}).get("trainable") for r in rs])
            for lab, rs in ((row.a, a), (row.b, b))
        }
        wall = {
            lab: _median([r.results.get("wall_time_s") for r in rs]) / 60
            for lab, rs in ((row.a, a), (row.b, b))
        }
        side = "; ".join(
            f"`{lab}` {params[lab] / 1e6:.2f} M trainable, "
            + ("–" if math.isnan(wall[lab]) else f"{wall[lab]:.1f} min")
            + " a run"
            for lab in (row.a, row.b)
        )
        seeds = next(iter(row.found.values())).seeds
        family = sum(c.testable for c in row.found.values())
        lines += [
            f"### `{row.a}` − `{row.b}`" + (f": {row.question}" if row.question else ""),
            "",
            f"{side}; seeds {seeds}; Holm over the {family} comparisons of this contrast.",
            "",
            "| row | ACC | AUC |",
            "|---|---|---|",
        ]
        lines += [
            f"| {name} | {row.found[(name, 'acc')].text()} | {row.found[(name, 'auc')].text()} |"
            for name, _ in row.rows
        ]
        lines.append("")
    return "\n".join(lines) + "\n"


def _margins(found: Sequence[ContrastRow]) -> str:
    seen = {m: c.margin for row in found for (_, m), c in row.found.items() if c.margin is not None}
    return ", ".join(f"±{100 * v:g} {m.upper()}" for m, v in seen.items())


def plot_contrasts(found: Sequence[ContrastRow], path: str | Path) -> Path:
    """Forest plot: per contrast, A − B of test ACC and AUC with 95% intervals, per dataset,
    specialist and mean (green / red: better / worse after Holm over every row; blue: equivalent
    within the stated margin, drawn as a shaded band)."""
    import matplotlib.pyplot as plt

    colour = {"better": "tab:green", "worse": "tab:red", "equivalent": "tab:blue"}
    n = max(len(row.rows) for row in found)
    fig, axes = plt.subplots(
        len(found), 2, figsize=(10, (0.32 * n + 0.9) * len(found) + 0.6), squeeze=False
    )
    for k, row in enumerate(found):
        for j, m in enumerate(("acc", "auc")):
            ax = axes[k][j]
            for i, (name, _) in enumerate(row.rows):
                c = row.found[(name, m)]
                ax.errorbar(
                    100 * c.diff,
                    i,
                    xerr=[[100 * (c.diff - c.low)], [100 * (c.high - c.diff)]],
                    fmt="o",
                    capsize=3,
                    color=colour.get(c.verdict, "tab:gray"),
                    markerfacecolor="white" if name != "mean" else None,
                )
            ax.axvline(0, color="k", lw=0.8)
            margin = next((c.margin for (_, mm), c in row.found.items() if mm == m), None)
            if margin:  # the smallest effect of interest: inside it, "equivalent" can be a verdict
                ax.axvspan(-100 * margin, 100 * margin, color="tab:blue", alpha=0.08, lw=0)
            ax.set_yticks(
                range(len(row.rows)), [name.split(" (")[0] for name, _ in row.rows], fontsize=7
            )
            ax.invert_yaxis()
            ax.set_title(f"{row.a} − {row.b}: test {m.upper()} (points)", fontsize=8)
    fig.suptitle(
        "Contrasts, paired over seeds and test samples (95% intervals; green/red: "
        "better/worse after Holm;\nblue: equivalent after Holm; shaded: ± the smallest effect of "
        "interest)",
        fontsize=9,
    )
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)
    return Path(path)
