"""Paired comparisons over seeds and samples: the one rule behind every "better", "worse", "keep", "drop" and
"within noise" the kit prints.

Two configurations A and B are compared on the seeds both ran and on the same samples. A **two-level bootstrap**
draws, per replicate, the seeds with replacement (training noise) and, for each dataset, one resample of its
samples with replacement (test-set noise), the same resample for both arms and every seed; the statistic is the
mean over drawn seeds of the difference of the metric (mean over the datasets asked for). The 95% interval is the
replicates' percentile interval, the two-sided p-value ``2 min(P(d <= 0), P(d >= 0))``. Several comparisons at once
(levers against one baseline) are corrected with Holm's step-down method.

With few seeds the seed level is coarse: a resample of n seeds has on average (n - 1) / n of their variance, so
intervals over 3 seeds are too narrow by about a fifth; claims rest on at least 5.

A single configuration against a published number (``interval_of_mean``) uses the same two levels: the interval
of the kit's mean score over seeds and samples, "above" / "below" only where it excludes the number.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .metrics import compute_metrics, resampled_metrics

__all__ = ["Sample", "Comparison", "Interval", "paired_difference", "interval_of_mean", "holm", "MIN_SEEDS"]

#: Per seed, per dataset: (labels, scores) of one split.
Sample = Mapping[int, Mapping[str, Tuple[np.ndarray, np.ndarray]]]

#: Fewest shared seeds for a verdict other than "n/a"; claims should rest on at least 5.
MIN_SEEDS = 2


@dataclass
class Comparison:
    """A - B: observed difference (mean over shared seeds), its bootstrap interval, p-value and verdict."""

    metric: str
    datasets: List[str]
    seeds: List[int]
    diff: float
    low: float
    high: float
    p: float
    p_adjusted: Optional[float] = None  # after a multiplicity correction (Holm), where one was applied
    level: float = 0.95
    per_seed: Dict[int, float] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``better`` / ``worse`` (A against B) where the (adjusted) p-value is below 1 - level, else ``within
        noise``; ``n/a`` with fewer than ``MIN_SEEDS`` shared seeds."""
        if len(self.seeds) < MIN_SEEDS or math.isnan(self.diff):
            return "n/a"
        p = self.p if self.p_adjusted is None else self.p_adjusted
        if p >= 1 - self.level:
            return "within noise"
        return "better" if self.diff > 0 else "worse"

    def text(self, pct: bool = True) -> str:
        k = 100 if pct else 1
        p = self.p if self.p_adjusted is None else self.p_adjusted
        ptxt = f"p={p:.3f}" + (" Holm" if self.p_adjusted is not None else "")
        return f"{k * self.diff:+.1f} [{k * self.low:+.1f}, {k * self.high:+.1f}] {ptxt}: {self.verdict}"


@dataclass
class Interval:
    """The interval of a mean score over seeds and samples, and where a reference number lies against it."""

    metric: str
    datasets: List[str]
    seeds: List[int]
    mean: float
    low: float
    high: float
    level: float = 0.95

    def against(self, reference: float) -> str:
        """``above`` / ``below`` the reference where the interval excludes it, else ``within noise``."""
        if len(self.seeds) < MIN_SEEDS or math.isnan(self.mean) or math.isnan(reference):
            return "n/a"
        return "above" if self.low > reference else "below" if self.high < reference else "within noise"


def _check_same_samples(arms: Sequence[Sample], seeds: Sequence[int], datasets: Sequence[str]) -> Dict[str, int]:
    """Every arm and seed must hold the same labels for a dataset (the same samples in the same order)."""
    sizes = {}
    for d in datasets:
        ref = None
        for arm in arms:
            for s in seeds:
                if d not in arm[s]:
                    raise KeyError(f"seed {s} has no outputs for {d}; compare datasets every run scored.")
                y = np.asarray(arm[s][d][0])
                if ref is None:
                    ref = y
                elif y.shape != ref.shape or not np.array_equal(y, ref):
                    raise ValueError(f"{d}: the runs did not score the same samples (labels differ in count or order, "
                                     "e.g. a truncated evaluation or another data file); a paired comparison needs the "
                                     "same samples in both arms.")
        sizes[d] = len(ref)
    return sizes


def _draws(rng: np.random.Generator, n_boot: int, n_seeds: int, sizes: Mapping[str, int]):
    seeds = rng.integers(0, n_seeds, (n_boot, n_seeds))
    counts = {d: rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot) for d, n in sizes.items()}
    return seeds, counts


def _tasks(datasets: Sequence[str], tasks: Optional[Mapping[str, str]]) -> Dict[str, str]:
    if tasks is not None:
        return {d: tasks[d] for d in datasets}
    from .registry import get_info

    return {d: get_info(d).task for d in datasets}


def _observed(sample: Sample, seed: int, datasets: Sequence[str], tasks: Mapping[str, str], metric: str) -> float:
    vals = [compute_metrics(tasks[d], *sample[seed][d])[metric] for d in datasets]
    return float(np.mean(vals))


def _resampled(sample: Sample, seeds: Sequence[int], datasets: Sequence[str], tasks: Mapping[str, str], metric: str,
               counts: Mapping[str, np.ndarray]) -> np.ndarray:
    """(n_seeds, B): the metric, averaged over datasets, of every seed under every sample resample."""
    out = np.zeros((len(seeds), len(next(iter(counts.values())))))
    for i, s in enumerate(seeds):
        out[i] = np.mean([resampled_metrics(tasks[d], *sample[s][d], counts[d])[metric] for d in datasets], 0)
    return out


def _over_seeds(per_seed: np.ndarray, seed_draws: np.ndarray) -> np.ndarray:
    """Per replicate b, the mean of ``per_seed[seed_draws[b, j], b]`` over j: the seed level of the bootstrap."""
    cols = np.arange(per_seed.shape[1])[:, None]
    return per_seed[seed_draws, cols].mean(1)


def _percentiles(values: np.ndarray, level: float) -> Tuple[float, float]:
    v = values[~np.isnan(values)]
    if not len(v):
        return float("nan"), float("nan")
    lo, hi = np.percentile(v, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(lo), float(hi)


def paired_difference(a: Sample, b: Sample, metric: str = "auc", datasets: Optional[Sequence[str]] = None,
                      tasks: Optional[Mapping[str, str]] = None, n_boot: int = 2000, seed: int = 0,
                      level: float = 0.95) -> Comparison:
    """A - B in ``metric`` (acc or auc), averaged over ``datasets`` (default: those both arms scored), over the
    seeds both arms ran, by the two-level paired bootstrap (module docstring). ``tasks`` maps each dataset to its
    medmnist task (default: the registry's)."""
    if metric not in ("acc", "auc"):
        raise ValueError(f"metric must be 'acc' or 'auc', not {metric!r}.")
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError(f"The arms share no seed (A: {sorted(a)}, B: {sorted(b)}); a paired comparison needs runs "
                         "of both configurations with the same seeds.")
    if datasets is None:
        datasets = [d for d in a[seeds[0]] if all(d in arm[s] for arm in (a, b) for s in seeds)]
    datasets = list(datasets)
    if not datasets:
        raise ValueError("No dataset was scored by every run of both arms.")
    sizes = _check_same_samples([a, b], seeds, datasets)
    tasks = _tasks(datasets, tasks)
    per_seed = {s: _observed(a, s, datasets, tasks, metric) - _observed(b, s, datasets, tasks, metric) for s in seeds}
    diff = float(np.mean(list(per_seed.values())))
    seed_draws, counts = _draws(np.random.default_rng(seed), n_boot, len(seeds), sizes)
    delta = (_resampled(a, seeds, datasets, tasks, metric, counts) -
             _resampled(b, seeds, datasets, tasks, metric, counts))
    boot = _over_seeds(delta, seed_draws)
    boot = boot[~np.isnan(boot)]
    low, high = _percentiles(boot, level)
    if len(boot):
        p = min(1.0, 2 * min((np.sum(boot <= 0) + 1) / (len(boot) + 1), (np.sum(boot >= 0) + 1) / (len(boot) + 1)))
    else:
        p = float("nan")
    return Comparison(metric, datasets, seeds, diff, low, high, float(p), level=level, per_seed=per_seed)


def interval_of_mean(sample: Sample, metric: str = "auc", datasets: Optional[Sequence[str]] = None,
                     tasks: Optional[Mapping[str, str]] = None, n_boot: int = 2000, seed: int = 0,
                     level: float = 0.95) -> Interval:
    """The mean ``metric`` over seeds (averaged over ``datasets``) with its two-level bootstrap interval: seed and
    sample noise together, the interval to hold a published number against."""
    seeds = sorted(sample)
    if not seeds:
        raise ValueError("No runs to take the interval of.")
    if datasets is None:
        datasets = [d for d in sample[seeds[0]] if all(d in sample[s] for s in seeds)]
    datasets = list(datasets)
    sizes = _check_same_samples([sample], seeds, datasets)
    tasks = _tasks(datasets, tasks)
    mean = float(np.mean([_observed(sample, s, datasets, tasks, metric) for s in seeds]))
    seed_draws, counts = _draws(np.random.default_rng(seed), n_boot, len(seeds), sizes)
    boot = _over_seeds(_resampled(sample, seeds, datasets, tasks, metric, counts), seed_draws)
    low, high = _percentiles(boot, level)
    return Interval(metric, datasets, seeds, mean, low, high, level)


def holm(comparisons: Sequence[Comparison]) -> List[Comparison]:
    """Set ``p_adjusted`` on each comparison by Holm's step-down method (family-wise error at 1 - level); the
    comparisons are returned in their order. NaN p-values stay NaN and do not count towards the family."""
    ranked = sorted((c for c in comparisons if not math.isnan(c.p)), key=lambda c: c.p)
    m, running = len(ranked), 0.0
    for i, c in enumerate(ranked):
        running = max(running, min(1.0, (m - i) * c.p))
        c.p_adjusted = running
    for c in comparisons:
        if math.isnan(c.p):
            c.p_adjusted = float("nan")
    return list(comparisons)
