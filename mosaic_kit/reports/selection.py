"""Selection on validation only: when a plan holds a grid (e.g. ``lr``), each method's table
column is the grid point with the best mean validation score (of the last round where recorded,
so not a maximum over rounds); test numbers play no part in the choice, and the other points are
listed with their validation scores only."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from statistics import mean, stdev
from typing import Dict, List, Sequence, Tuple

from .table import RunRecord

__all__ = ["Candidate", "select_on_validation", "validation_md", "BASELINE"]

#: The label an ablation plan gives its reference configuration; every other label is one lever
#: against it.
BASELINE = "baseline"


@dataclass
class Candidate:
    label: str  # the method's label in the plan
    point: Dict[str, object]  # the grid point
    val: float  # mean validation metric: over datasets within a run, then over its runs
    runs: int
    selected: bool


def _val(r: RunRecord, metric: str) -> float:
    """The mean validation score to choose on: the last round's where recorded (not a maximum
    over rounds), else the best round's."""
    res = r.results.get("last") or r.results
    v = (res.get("mean_val") or {}).get("all", {}).get(metric, float("nan"))
    return float("nan") if v is None else float(v)


def select_on_validation(
    records: Sequence[RunRecord], metric: str = "acc"
) -> Tuple[List[RunRecord], List[Candidate]]:
    """Keep, per label, the runs of the grid point with the best mean validation ``metric``
    (ties: the first point in plan order); records without a grid point pass through. The kept
    records are relabelled with the chosen values, e.g. ``mos (lr=0.001)``."""
    kept: List[RunRecord] = [r for r in records if not r.grid]
    candidates: List[Candidate] = []
    for label in dict.fromkeys(r.label for r in records if r.grid):
        points: Dict[str, List[RunRecord]] = {}
        for r in records:
            if r.grid and r.label == label:
                points.setdefault(json.dumps(r.grid, sort_keys=True, default=str), []).append(r)
        scores = {
            k: mean(v)
            if (v := [x for x in (_val(r, metric) for r in rs) if not math.isnan(x)])
            else float("nan")
            for k, rs in points.items()
        }
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
    """Mean validation ACC / AUC per label, of the student and of its EMA teacher, at the score
    choices are made on (the last round's where recorded, ``_val``); the verdicts on them are in
    the sections of ``sections``."""
    last = all("last" in r.results for r in records)
    lines = [
        "## Validation scores",
        "",
        "Mean validation score over the datasets, mean ± sample std over runs: the only "
        "numbers to choose on (a variant, a checkpoint, student or EMA teacher), "
        + (
            "of the last round of the fixed schedule (not a maximum over rounds)."
            if last
            else "of the best round (a maximum over rounds, so optimistic: these runs predate the "
            "last round's scores)."
        )
        + "",
        "",
        "| label | student val ACC | student val AUC | teacher val ACC | teacher val AUC | runs |",
        "|---|---|---|---|---|---|",
    ]
    for label in dict.fromkeys(r.label for r in records):
        rs = [r for r in records if r.label == label]
        teacher = [_teacher(r) for r in rs]
        lines.append(
            f"| {label} | {_pm([_val(r, 'acc') for r in rs])} | "
            f"{_pm([_val(r, 'auc') for r in rs])} | "
            f"{_pm([_val(t, 'acc') for t in teacher])} | "
            f"{_pm([_val(t, 'auc') for t in teacher])} | {len(rs)} |"
        )
    return "\n".join(lines) + "\n\n"


def _teacher(r: RunRecord) -> RunRecord:
    res = r.results
    teacher = dict(res.get("teacher") or {})
    if "last" in res:
        teacher["last"] = res["last"].get("teacher") or {}
    return RunRecord(r.label, r.seed, r.run_dir, teacher)
