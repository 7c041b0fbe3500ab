"""Selection on validation only: when a plan holds a grid (e.g. ``lr``), each method's table column is the grid
point with the best mean validation score; test numbers play no part in the choice, and the other points are
listed with their validation scores only."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from statistics import mean, median, stdev
from typing import Dict, List, Sequence, Tuple

from .table import RunRecord

__all__ = ["Candidate", "select_on_validation", "validation_md", "ablation_md", "BASELINE"]

#: The label an ablation plan gives its reference configuration; every other label is one lever against it.
BASELINE = "baseline"


@dataclass
class Candidate:
    label: str  # the method's label in the plan
    point: Dict[str, object]  # the grid point
    val: float  # mean validation metric: over datasets within a run, then over its runs
    runs: int
    selected: bool


def _val(r: RunRecord, metric: str) -> float:
    v = (r.results.get("mean_val") or {}).get("all", {}).get(metric, float("nan"))
    return float("nan") if v is None else float(v)


def select_on_validation(records: Sequence[RunRecord], metric: str = "acc") -> Tuple[List[RunRecord], List[Candidate]]:
    """Keep, per label, the runs of the grid point with the best mean validation ``metric`` (ties: the first point
    in plan order); records without a grid point pass through. The kept records are relabelled with the chosen
    values, e.g. ``mos (lr=0.001)``."""
    kept: List[RunRecord] = [r for r in records if not r.grid]
    candidates: List[Candidate] = []
    for label in dict.fromkeys(r.label for r in records if r.grid):
        points: Dict[str, List[RunRecord]] = {}
        for r in records:
            if r.grid and r.label == label:
                points.setdefault(json.dumps(r.grid, sort_keys=True, default=str), []).append(r)
        scores = {k: mean(v) if (v := [x for x in (_val(r, metric) for r in rs) if not math.isnan(x)]) else float("nan")
                  for k, rs in points.items()}
        best = max(points, key=lambda k: -math.inf if math.isnan(scores[k]) else scores[k])
        for k, rs in points.items():
            candidates.append(Candidate(label, rs[0].grid, scores[k], len(rs), k == best))
        chosen = ", ".join(f"{k}={v}" for k, v in points[best][0].grid.items())
        for r in points[best]:
            r.label = f"{label} ({chosen})"
            kept.append(r)
    order = {id(r): i for i, r in enumerate(records)}
    return sorted(kept, key=lambda r: order[id(r)]), candidates


def _pm(values: List[float]) -> str:
    v = [100 * x for x in values if not math.isnan(x)]
    if not v:
        return "–"
    return f"{mean(v):.1f} ± {stdev(v):.1f}" if len(v) > 1 else f"{v[0]:.1f}"


def validation_md(records: Sequence[RunRecord]) -> str:
    """Mean validation ACC / AUC per label, of the student (its best round) and of its EMA teacher: the numbers
    on which an ablation keeps or drops a change, and a report picks student or teacher. The last column decides
    the latter: the teacher's validation AUC minus the student's, paired per run, against its std over runs."""
    lines = ["## Validation scores", "",
             "Mean validation score over the datasets, mean ± sample std over runs: the only numbers to choose on "
             "(a variant, a checkpoint, student or EMA teacher). Teacher − student: the paired difference of "
             "validation AUC per run; the teacher is reported only where it is better by more than its std.", "",
             "| label | student val ACC | student val AUC | teacher val ACC | teacher val AUC | teacher − student "
             "val AUC | runs |",
             "|---|---|---|---|---|---|---|"]
    for label in dict.fromkeys(r.label for r in records):
        rs = [r for r in records if r.label == label]
        teacher = [RunRecord(r.label, r.seed, r.run_dir, r.results.get("teacher") or {}) for r in rs]
        diff = [x for x in (100 * (_val(t, "auc") - _val(r, "auc")) for r, t in zip(rs, teacher))
                if not math.isnan(x)]
        if diff:
            m, sd = mean(diff), (stdev(diff) if len(diff) > 1 else 0.0)
            pick = "teacher" if m > sd and len(diff) > 1 else "student"
            gap = f"{m:+.1f} ± {sd:.1f}: {pick}"
        else:
            gap = "–"
        lines.append(f"| {label} | {_pm([_val(r, 'acc') for r in rs])} | {_pm([_val(r, 'auc') for r in rs])} | "
                     f"{_pm([_val(t, 'acc') for t in teacher])} | {_pm([_val(t, 'auc') for t in teacher])} | "
                     f"{gap} | {len(rs)} |")
    return "\n".join(lines) + "\n\n"


def _dataset_val(r: RunRecord, name: str, metric: str) -> float:
    v = ((r.results.get("datasets") or {}).get(name) or {}).get("val", {}).get(metric)
    return float("nan") if v is None else float(v)


def _mean(values: Sequence[float]) -> float:
    v = [x for x in values if not math.isnan(x)]
    return mean(v) if v else float("nan")


def ablation_md(records: Sequence[RunRecord], baseline: str = BASELINE) -> str:
    """Each label against ``baseline`` on validation only (the student's best round): the change in mean
    validation ACC and AUC, each against its noise (the larger sample std over seeds of the two). ``keep``: one
    metric better and none worse; ``drop``: the reverse. Also the change of each dataset's validation AUC (a lever
    may act on one modality only) and the lever's median wall time per run against the baseline's. Empty when no
    label is ``baseline``."""
    base = [r for r in records if r.label == baseline]
    if not base:
        return ""
    names = list(dict.fromkeys(n for r in base for n in (r.results.get("datasets") or {})))
    lines = ["## Levers against the baseline, on validation", "",
             f"Change of the mean validation score from `{baseline}`, in points; a lever is kept only where the "
             "change exceeds the noise (the larger std over seeds of the two), test scores play no part. Per dataset: "
             "the change of its mean validation AUC. Wall time: the lever's median training wall time per run over the "
             "baseline's.", "",
             "| lever | val ACC change | val AUC change | val AUC change per dataset | wall time | verdict |",
             "|---|---|---|---|---|---|"]

    def stats(rs: Sequence[RunRecord], metric: str) -> Tuple[float, float]:
        v = [100 * x for x in (_val(r, metric) for r in rs) if not math.isnan(x)]
        return (mean(v) if v else float("nan")), (stdev(v) if len(v) > 1 else 0.0)

    def dataset_auc(rs: Sequence[RunRecord], name: str) -> float:
        return _mean([_dataset_val(r, name, "auc") for r in rs])

    def wall(rs: Sequence[RunRecord]) -> float:  # the median: robust to one run slowed by other work
        v = [float(r.results["wall_time_s"]) for r in rs if r.results.get("wall_time_s")]
        return median(v) if v else float("nan")

    for label in dict.fromkeys(r.label for r in records if r.label != baseline):
        rs = [r for r in records if r.label == label]
        cells, verdicts = [], []
        for metric in ("acc", "auc"):
            (m0, s0), (m1, s1) = stats(base, metric), stats(rs, metric)
            d, noise = m1 - m0, max(s0, s1)
            verdicts.append("better" if d > noise else "worse" if d < -noise else "same")
            cells.append(f"{d:+.1f} (noise {noise:.1f})")
        verdict = ("keep" if "better" in verdicts and "worse" not in verdicts else
                   "drop" if "worse" in verdicts and "better" not in verdicts else
                   "mixed" if "better" in verdicts else "within noise")
        per = ", ".join(f"{n.replace('mnist', '')} {100 * (dataset_auc(rs, n) - dataset_auc(base, n)):+.1f}"
                        for n in names)
        ratio = wall(rs) / wall(base)
        lines.append(f"| {label} | {cells[0]} | {cells[1]} | {per} | "
                     f"{'–' if math.isnan(ratio) else f'{ratio:.2f}x'} | {verdict} |")
    return "\n".join(lines) + "\n\n"
