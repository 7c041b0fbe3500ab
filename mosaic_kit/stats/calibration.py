"""How often a comparison rule calls a difference where there is none, how often its interval covers
the truth, and how often it finds a planted effect: measured on semi-synthetic arms (``nulls``)
built from committed runs.

Three rules are measured side by side on the same replicates:

- ``studentised``: the kit's rule (``paired.paired_differences``);
- ``percentile``: the withdrawn two-level percentile bootstrap (seeds resampled with replacement,
  then samples);
- ``seed-t``: a t test on the per-seed differences alone (no sample level).

Each rate comes with its Monte-Carlo standard error ``sqrt(r (1 - r) / reps)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import stats as _st

from ..evaluation.metrics import compute_metrics, resampled_metrics
from .nulls import Structure, replicate, true_difference
from .paired import paired_differences
from .samples import _counts

__all__ = ["Cell", "calibrate", "RULES", "KIT_RULE"]

KIT_RULE = "studentised"
#: (diff, low, high, p) per metric of one replicate, from arms A and B.
Found = Dict[str, Tuple[float, float, float, float]]


def _studentised(a, b, tasks, n_boot, seed, level) -> Found:
    got = paired_differences(a, b, tasks=tasks, n_boot=n_boot, seed=seed, level=level)
    return {m: (c.diff, c.low, c.high, c.p) for m, c in got.items()}


def _per_seed(a, b, tasks, n_boot, seed):
    """Observed per-seed differences (S,) and per-seed resampled differences (S, B), per metric."""
    rng = np.random.default_rng(seed)
    seeds = sorted(a)
    counts = _counts(rng, n_boot, {d: len(a[seeds[0]][d][0]) for d in tasks})
    obs = {m: np.zeros(len(seeds)) for m in ("acc", "auc")}
    res = {m: np.zeros((len(seeds), n_boot)) for m in ("acc", "auc")}
    for i, s in enumerate(seeds):
        for d, task in tasks.items():
            oa, ob = compute_metrics(task, *a[s][d]), compute_metrics(task, *b[s][d])
            ra, rb = (
                resampled_metrics(task, *a[s][d], counts[d]),
                resampled_metrics(task, *b[s][d], counts[d]),
            )
            for m in obs:
                obs[m][i] += (oa[m] - ob[m]) / len(tasks)
                res[m][i] += (ra[m] - rb[m]) / len(tasks)
    return obs, res, rng


def _percentile(a, b, tasks, n_boot, seed, level) -> Found:
    obs, res, rng = _per_seed(a, b, tasks, n_boot, seed)
    n = len(a)
    draws = rng.integers(0, n, (n_boot, n))
    out = {}
    for m in obs:
        boot = res[m][draws, np.arange(n_boot)[:, None]].mean(1)
        boot = boot[~np.isnan(boot)]
        lo, hi = np.percentile(boot, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
        p = min(
            1.0,
            2
            * min(
                (np.sum(boot <= 0) + 1) / (len(boot) + 1), (np.sum(boot >= 0) + 1) / (len(boot) + 1)
            ),
        )
        out[m] = (float(obs[m].mean()), float(lo), float(hi), float(p))
    return out


def _seed_t(a, b, tasks, n_boot, seed, level) -> Found:
    got = {
        s: [(compute_metrics(t, *a[s][k]), compute_metrics(t, *b[s][k])) for k, t in tasks.items()]
        for s in a
    }
    out = {}
    for m in ("acc", "auc"):
        d = np.array([np.mean([x[m] - y[m] for x, y in got[s]]) for s in sorted(a)])
        if d.std() == 0:  # scipy's t test is undefined without spread
            out[m] = (float(d.mean()),) * 3 + (1.0 if d.mean() == 0 else 0.0,)
            continue
        t = _st.ttest_1samp(d, 0.0)
        ci = t.confidence_interval(level)
        out[m] = (float(d.mean()), float(ci.low), float(ci.high), float(t.pvalue))
    return out


RULES: Dict[str, Callable[..., Found]] = {
    "studentised": _studentised,
    "percentile": _percentile,
    "seed-t": _seed_t,
}


@dataclass
class Cell:
    """One rule on one kind of arms at one number of seeds and one planted shift, for one metric."""

    source: str
    rule: str
    kind: str
    n_seeds: int
    shift: float
    metric: str
    reps: int
    rejections: int  # p < 1 - level ("better" or "worse")
    wrong_sign: int  # called in the direction opposite to the truth
    covered: int  # the interval holds the true difference
    truth: float
    level: float = 0.95

    @staticmethod
    def _se(k: int, n: int) -> float:
        r = k / n
        return math.sqrt(max(r * (1 - r), 1.0 / n) / n)  # never 0: a rate of 0/n still has an error

    @property
    def rate(self) -> float:
        return self.rejections / self.reps

    @property
    def rate_se(self) -> float:
        return self._se(self.rejections, self.reps)

    @property
    def coverage(self) -> float:
        return self.covered / self.reps

    @property
    def coverage_se(self) -> float:
        return self._se(self.covered, self.reps)


def calibrate(
    st: Structure,
    source: str = "",
    rules: Sequence[str] = (KIT_RULE,),
    kinds: Sequence[str] = ("seeds",),
    seed_counts: Sequence[int] = (5,),
    shifts: Sequence[float] = (0.0,),
    reps: int = 200,
    n_boot: int = 400,
    level: float = 0.95,
    seed: int = 0,
    progress: Optional[Callable[[str], None]] = None,
) -> List[Cell]:
    """Every rule x kind x number of seeds x shift, both metrics, on ``reps`` replicates each
    (the rules see the same replicates). ``progress`` is called with a line per finished block."""
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise ValueError(f"Unknown rule(s) {unknown}; choose from {list(RULES)}.")
    cells: List[Cell] = []
    for kind in kinds:
        for shift in shifts:
            truth = true_difference(st, kind, shift, seed=seed + 7919)
            for n in seed_counts:
                hits: Dict[Tuple[str, str], List[int]] = {
                    (r, m): [0, 0, 0] for r in rules for m in ("acc", "auc")
                }
                rng = np.random.default_rng([seed, n, int(1000 * shift), len(kind)])
                for i in range(reps):
                    a, b = replicate(st, rng, n, kind, shift)
                    for r in rules:
                        for m, (diff, lo, hi, p) in RULES[r](
                            a, b, st.tasks, n_boot, seed + i, level
                        ).items():
                            t = truth[m][0]
                            h = hits[(r, m)]
                            h[0] += p < 1 - level
                            h[1] += p < 1 - level and t != 0 and np.sign(diff) != np.sign(t)
                            h[2] += lo <= t <= hi
                for (r, m), (rej, wrong, cov) in hits.items():
                    cells.append(
                        Cell(
                            source,
                            r,
                            kind,
                            n,
                            float(shift),
                            m,
                            reps,
                            int(rej),
                            int(wrong),
                            int(cov),
                            float(truth[m][0]),
                            level,
                        )
                    )
                if progress:
                    progress(f"{source} {kind} shift={shift} seeds={n}: done ({reps} replicates)")
    return cells
