"""Accuracy against cost: against trainable parameters, one line per method family (the same
method at several sizes: VPT prompts, LoRA ranks, adapter or MOSAIC widths), with the trend in
words; and against wall time per run, one point per label (e.g. the levers of an ablation). Error
bars: std over seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import mean, stdev
from typing import Dict, List, Sequence

from .table import METRICS, ResultTable, RunRecord

__all__ = [
    "ScalingPoint",
    "scaling_points",
    "is_sweep",
    "scaling_md",
    "trend",
    "FAMILY_NAMES",
]

FAMILY_NAMES = {
    "mos": "MOSAIC",
    "mos-soft": "MOSAIC (soft router)",
    "vpt": "VPT",
    "lora": "LoRA",
    "adapter": "adapter",
    "adapter-dataset": "adapter per dataset",
    "linear": "linear probe",
    "gmoe": "GMoE",
    "gmoe-shared": "GMoE (shared backbone)",
}


@dataclass
class ScalingPoint:
    family: str
    label: str
    params: float  # trainable parameters (mean over runs)
    scores: Dict[str, List[float]]  # metric -> mean test score over the datasets, one value per run
    wall: List[float]  # wall time per run (s), where recorded

    def mean(self, metric: str) -> float:
        v = [x for x in self.scores[metric] if not math.isnan(x)]
        return mean(v) if v else float("nan")

    def std(self, metric: str) -> float:
        v = [x for x in self.scores[metric] if not math.isnan(x)]
        return stdev(v) if len(v) > 1 else 0.0


def scaling_points(
    table: ResultTable, records: Sequence[RunRecord], group: str = "all"
) -> List[ScalingPoint]:
    """One point per label of ``table``: its method family (``method``, ``independent`` ones
    apart), trainable parameters and mean test ACC / AUC over ``group``'s datasets, per run."""
    family = {}
    for r in records:
        cfg = r.results.get("config", {})
        name = FAMILY_NAMES.get(cfg.get("method"), cfg.get("method", "?"))
        family[r.label] = name + (" (independent)" if cfg.get("independent") else "")
    return [
        ScalingPoint(
            family[lab],
            lab,
            mean(table.params[lab]),
            {m: list(table.means[(lab, group)][m]) for m in METRICS},
            list(table.wall.get(lab, [])),
        )
        for lab in table.labels
        if (lab, group) in table.means and table.params.get(lab)
    ]


def is_sweep(points: Sequence[ScalingPoint]) -> bool:
    """Whether some family ran at three or more sizes (distinct trainable-parameter counts): a
    curve. Two sizes are a comparison, e.g. an ablation lever that changes the count in passing
    (a smaller 3D kernel)."""
    return any(len({round(p.params) for p in ps}) > 2 for ps in _families(points).values())


def _families(points: Sequence[ScalingPoint]) -> Dict[str, List[ScalingPoint]]:
    out: Dict[str, List[ScalingPoint]] = {}
    for p in points:
        out.setdefault(p.family, []).append(p)
    return {f: sorted(ps, key=lambda p: p.params) for f, ps in out.items()}


def trend(points: Sequence[ScalingPoint], metric: str, records: Sequence[RunRecord] = ()) -> str:
    """The smallest against the largest size of one family: the change of the mean test score in
    points and, where ``records`` hold per-sample outputs, the paired verdict (``_trends``);
    otherwise no verdict."""
    return _trends({"": list(points)}, records)[("", metric)]


def _trends(fams: Dict[str, List[ScalingPoint]], records: Sequence[RunRecord]) -> Dict[tuple, str]:
    """Per family and metric, largest − smallest size: paired over shared seeds and test samples,
    Holm-corrected over every family and metric of the table."""
    from ..stats import holm
    from .compare import compare_records, has_all_outputs

    out, found = {}, {}
    paired = has_all_outputs(records)
    for f, ps in fams.items():
        lo, hi = ps[0], ps[-1]
        for m in METRICS:
            diff = 100 * (hi.mean(m) - lo.mean(m))
            out[(f, m)] = (
                "undefined"
                if math.isnan(diff)
                else f"{diff:+.1f} (no per-sample outputs: no verdict)"
            )
            if paired and not math.isnan(diff):
                found[(f, m)] = compare_records(
                    [r for r in records if r.label == hi.label],
                    [r for r in records if r.label == lo.label],
                    m,
                    "test",
                )
    holm(list(found.values()))
    word = {"better": "rises", "worse": "falls"}
    for key, c in found.items():
        out[key] = c.text().replace(c.verdict_text(), word.get(c.verdict, c.verdict_text()))
    return out


def scaling_md(points: Sequence[ScalingPoint], records: Sequence[RunRecord] = ()) -> str:
    """A table of every point by family, and per family with several sizes the change from its
    smallest to its largest size (paired verdicts where ``records`` hold per-sample outputs)."""
    fams = _families(points)
    lines = [
        "## Accuracy against trainable parameters",
        "",
        "Mean test score over the datasets, mean ± sample std over seeds, per method family and "
        "size (figure: `scaling.png`).",
        "",
        "| family | label | trainable parameters | ACC | AUC | runs |",
        "|---|---|---|---|---|---|",
    ]
    for fam, ps in fams.items():
        lines += [
            f"| {fam} | {p.label} | {p.params:,.0f} | {100 * p.mean('acc'):.1f} ± "
            f"{100 * p.std('acc'):.1f} | "
            f"{100 * p.mean('auc'):.1f} ± {100 * p.std('auc'):.1f} | "
            f"{len(p.scores['acc'])} |"
            for p in ps
        ]
    sweeps = {f: ps for f, ps in fams.items() if len({round(p.params) for p in ps}) > 1}
    if sweeps:
        got = _trends(sweeps, records)
        lines += [
            "",
            "From the smallest to the largest size of each family, mean test score over the "
            "datasets, in points: the paired difference over shared seeds and the same test "
            "samples with its 95% interval (t over seeds plus the samples' bootstrap variance), p "
            "Holm-corrected over the rows and metrics of this table:",
            "",
            "| family | parameters | ACC change | AUC change |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {f} | {ps[0].params:,.0f} → {ps[-1].params:,.0f} | {got[(f, 'acc')]} | "
            f"{got[(f, 'auc')]} |"
            for f, ps in sweeps.items()
        ]
    return "\n".join(lines) + "\n\n"
