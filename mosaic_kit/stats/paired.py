"""Paired comparisons over seeds and samples: the one rule behind every "better", "worse", "keep",
"drop", "equivalent" and "not shown either way" the kit prints.

Two configurations A and B are compared on the seeds both ran and on the same samples. Per shared
seed ``s`` the observed difference ``d_s`` is A's metric minus B's (averaged over the datasets asked
for); the estimate is their mean ``d``. Its standard error has two parts, both paired:

- **seed level**: ``v_seed / n``, the sample variance of the ``d_s`` over the ``n`` seeds (training
  noise, seed main effects included);
- **sample level**: ``v_sample``, the variance of ``d`` over bootstrap resamples of the test (or
  validation) samples, one resample per dataset shared by both arms and every seed (test-set noise,
  which does not average out over seeds because every seed is scored on the same samples).

``se = sqrt(v_seed / n + v_sample)``; the interval is ``d +- t * se`` with Student's t on the
Welch-Satterthwaite degrees of freedom of the seed level (``n - 1`` where seeds dominate, a normal
quantile where samples do), the p-value the matching two-sided t test. This **studentised two-level
rule** replaced a two-level percentile bootstrap that resampled the seeds too: with 5 seeds a
resample keeps (n - 1) / n of their variance and reads normal-type percentiles, so where seeds
dominate (AUC on small test sets) it called a difference in up to a fifth of null pairs at a nominal
5%. ``benchmarks/calibration.py`` measures both rules on nulls built from committed runs (fresh test
set per replicate, seed main effects kept); the tests run a fast version that fails when the
false-alarm rate exceeds 5% beyond its Monte-Carlo error.

Verdicts need at least ``MIN_SEEDS`` (5) shared seeds; with fewer the interval is printed and the
verdict is ``n/a``. A comparison may carry a **smallest effect of interest** ``margin``: then
"equivalent within +-margin" is a verdict of its own (two one-sided tests at level ``1 - alpha``,
i.e. the ``1 - 2 alpha`` interval inside ``+-margin``); without a margin, or where neither test
succeeds, the verdict is "not shown either way", printed with the **minimal detectable effect** (the
true difference this rule finds with 80% power at the observed variance). ``seeds_needed`` turns a
pilot's variances into the number of seeds a stated effect needs.

Several comparisons at once are corrected with Holm's step-down method (difference and
equivalence p-values alike). A single configuration against a published number
(``interval_of_mean``) uses the same two levels.
"""

from __future__ import annotations

import math
from typing import Dict, Mapping, Optional, Sequence

import numpy as np

from .power import _dof, _t, _t_sf
from .samples import (
    Sample,
    _check_same_samples,
    _common,
    _counts,
    _observed,
    _resampled,
    _tasks,
    _variance,
    identical_outputs,
)
from .verdicts import Comparison, Interval

__all__ = [
    "Sample",
    "paired_difference",
    "paired_differences",
    "interval_of_mean",
    "identical_outputs",
]

#: Per seed, per dataset: (labels, scores) of one split.


def _margin(margins, metric: str) -> Optional[float]:
    if margins is None:
        return None
    m = margins.get(metric) if isinstance(margins, Mapping) else margins
    if m is None:
        return None
    m = float(m)
    if not (math.isfinite(m) and m > 0):
        raise ValueError(
            f"The smallest effect of interest for {metric} must be a positive number (metric "
            f"units, e.g. 0.02 for 2 points), not {m!r}."
        )
    return m


def paired_differences(
    a: Sample,
    b: Sample,
    datasets: Optional[Sequence[str]] = None,
    tasks: Optional[Mapping[str, str]] = None,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    margins=None,
    metrics: Sequence[str] = ("acc", "auc"),
) -> Dict[str, Comparison]:
    """A - B in each of ``metrics``, averaged over ``datasets`` (default: those both arms
    scored), over the seeds both arms ran, by the studentised two-level rule (module docstring).
    ``tasks`` maps each dataset to its medmnist task (default: the registry's); ``margins`` the
    smallest effect of interest per metric (``{"auc": 0.02}``, or one number for all), in metric
    units."""
    for metric in metrics:
        if metric not in ("acc", "auc"):
            raise ValueError(f"metric must be 'acc' or 'auc', not {metric!r}.")
    if not (isinstance(n_boot, int) and n_boot >= 2):
        raise ValueError(
            f"n_boot must be an integer of at least 2 (bootstrap resamples of the samples), not "
            f"{n_boot!r}; 2000 is the default."
        )
    seeds, datasets = _common(a, b, datasets)
    sizes = _check_same_samples([a, b], seeds, datasets)
    tasks = _tasks(datasets, tasks)
    n = len(seeds)
    if identical_outputs(a, b, seeds, datasets):
        return {
            m: Comparison(
                m,
                datasets,
                seeds,
                0.0,
                0.0,
                0.0,
                1.0,
                level=level,
                se=0.0,
                df=math.inf,
                v_seed=0.0,
                v_sample=0.0,
                per_seed={s: 0.0 for s in seeds},
                margin=_margin(margins, m),
                testable=False,
            )
            for m in metrics
        }
    obs_a = {s: _observed(a, s, datasets, tasks) for s in seeds}
    obs_b = {s: _observed(b, s, datasets, tasks) for s in seeds}
    counts = _counts(np.random.default_rng(seed), n_boot, sizes)
    boot_a = _resampled(a, seeds, datasets, tasks, counts)
    boot_b = _resampled(b, seeds, datasets, tasks, counts)
    out = {}
    for m in metrics:
        per_seed = {s: obs_a[s][m] - obs_b[s][m] for s in seeds}
        d = np.array(list(per_seed.values()))
        diff = float(np.mean(d))
        v_seed = float(np.var(d, ddof=1)) if n > 1 else float("nan")
        v_sample = _variance(boot_a[m] - boot_b[m])
        c = Comparison(
            m,
            datasets,
            seeds,
            diff,
            float("nan"),
            float("nan"),
            float("nan"),
            level=level,
            per_seed=per_seed,
            v_seed=v_seed,
            v_sample=v_sample,
            margin=_margin(margins, m),
        )
        _finish(c, n)
        out[m] = c
    return out


def _finish(c: Comparison, n: int) -> None:
    """Standard error, degrees of freedom, interval, p-values of a comparison from its two
    variances."""
    if n < 2 or math.isnan(c.v_sample) or math.isnan(c.diff):
        return
    c.se = math.sqrt(c.v_seed / n + c.v_sample)
    c.df = _dof(c.v_seed, n, c.v_sample)
    q = _t((1 + c.level) / 2, c.df)
    c.low, c.high = c.diff - q * c.se, c.diff + q * c.se
    if c.se == 0:
        c.p = 1.0 if c.diff == 0 else 0.0
    else:
        c.p = min(1.0, 2 * _t_sf(abs(c.diff) / c.se, c.df))
    if c.margin is not None:
        if c.se == 0:
            c.p_equivalent = 0.0 if abs(c.diff) < c.margin else 1.0
        else:
            c.p_equivalent = max(
                _t_sf((c.diff + c.margin) / c.se, c.df), _t_sf((c.margin - c.diff) / c.se, c.df)
            )


def paired_difference(
    a: Sample,
    b: Sample,
    metric: str = "auc",
    datasets: Optional[Sequence[str]] = None,
    tasks: Optional[Mapping[str, str]] = None,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    margin: Optional[float] = None,
) -> Comparison:
    """A - B in one ``metric`` (acc or auc); see ``paired_differences``."""
    return paired_differences(
        a, b, datasets, tasks, n_boot, seed, level, {metric: margin}, (metric,)
    )[metric]


def interval_of_mean(
    sample: Sample,
    metric: str = "auc",
    datasets: Optional[Sequence[str]] = None,
    tasks: Optional[Mapping[str, str]] = None,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """The mean ``metric`` over seeds (averaged over ``datasets``) with its interval over seeds
    and samples (the studentised two-level rule of the module docstring): the interval to hold a
    published number against."""
    seeds = sorted(sample)
    if not seeds:
        raise ValueError("No runs to take the interval of.")
    if datasets is None:
        datasets = [d for d in sample[seeds[0]] if all(d in sample[s] for s in seeds)]
    datasets = list(datasets)
    sizes = _check_same_samples([sample], seeds, datasets)
    tasks = _tasks(datasets, tasks)
    values = np.array([_observed(sample, s, datasets, tasks)[metric] for s in seeds])
    mean, n = float(np.mean(values)), len(seeds)
    v_sample = _variance(
        _resampled(
            sample, seeds, datasets, tasks, _counts(np.random.default_rng(seed), n_boot, sizes)
        )[metric]
    )
    v_seed = float(np.var(values, ddof=1)) if n > 1 else 0.0  # one seed: the sample level only
    if math.isnan(v_sample) or math.isnan(mean):
        return Interval(metric, datasets, seeds, mean, float("nan"), float("nan"), level)
    se = math.sqrt(v_seed / n + v_sample)
    df = _dof(v_seed, n, v_sample)
    q = _t((1 + level) / 2, df)
    return Interval(metric, datasets, seeds, mean, mean - q * se, mean + q * se, level, se, df)
