"""The samples a paired comparison stands on: both arms scored on the same samples, per-sample
counts, observed and bootstrap-resampled metrics."""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..evaluation.metrics import compute_metrics, resampled_metrics

#: ``{seed: {dataset: (labels, scores)}}``: one arm's per-sample outputs.
Sample = Mapping[int, Mapping[str, Tuple[np.ndarray, np.ndarray]]]

__all__ = ["identical_outputs"]


def _check_same_samples(
    arms: Sequence[Sample], seeds: Sequence[int], datasets: Sequence[str]
) -> Dict[str, int]:
    """Every arm and seed must hold the same labels for a dataset (the same samples in the same
    order)."""
    sizes = {}
    for d in datasets:
        ref = None
        for arm in arms:
            for s in seeds:
                if d not in arm[s]:
                    raise KeyError(
                        f"seed {s} has no outputs for {d}; compare datasets every run scored."
                    )
                y = np.asarray(arm[s][d][0])
                if ref is None:
                    ref = y
                elif y.shape != ref.shape or not np.array_equal(y, ref):
                    raise ValueError(
                        f"{d}: the runs did not score the same samples (labels differ in count or "
                        "order, e.g. a truncated evaluation or another data file); a paired "
                        "comparison needs the same samples in both arms."
                    )
        sizes[d] = len(ref)
    return sizes


def _counts(
    rng: np.random.Generator, n_boot: int, sizes: Mapping[str, int]
) -> Dict[str, np.ndarray]:
    """Per dataset, ``n_boot`` bootstrap resamples of its samples as draw counts (n_boot, N)."""
    return {d: rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot) for d, n in sizes.items()}


def _tasks(datasets: Sequence[str], tasks: Optional[Mapping[str, str]]) -> Dict[str, str]:
    if tasks is not None:
        return {d: tasks[d] for d in datasets}
    from ..data.registry import get_info

    return {d: get_info(d).task for d in datasets}


def _observed(
    sample: Sample, seed: int, datasets: Sequence[str], tasks: Mapping[str, str]
) -> Dict[str, float]:
    got = [compute_metrics(tasks[d], *sample[seed][d]) for d in datasets]
    return {m: float(np.mean([g[m] for g in got])) for m in ("acc", "auc")}


def _resampled(
    sample: Sample,
    seeds: Sequence[int],
    datasets: Sequence[str],
    tasks: Mapping[str, str],
    counts: Mapping[str, np.ndarray],
) -> Dict[str, np.ndarray]:
    """Per metric, (B,): the metric averaged over datasets and over seeds, under every sample
    resample."""
    n_boot = len(next(iter(counts.values())))
    out = {m: np.zeros(n_boot) for m in ("acc", "auc")}
    for s in seeds:
        got = [resampled_metrics(tasks[d], *sample[s][d], counts[d]) for d in datasets]
        for m in out:
            out[m] += np.mean([g[m] for g in got], 0) / len(seeds)
    return out


def _variance(values: np.ndarray) -> float:
    v = values[~np.isnan(values)]
    return float(np.var(v, ddof=1)) if len(v) > 1 else float("nan")


def identical_outputs(a: Sample, b: Sample, seeds: Sequence[int], datasets: Sequence[str]) -> bool:
    """Whether both arms hold bit-identical scores on every seed and dataset: no rule can see a
    difference there (a lever that changed nothing, or the same runs given as both arms)."""
    return all(
        np.array_equal(np.asarray(a[s][d][1]), np.asarray(b[s][d][1]))
        for s in seeds
        for d in datasets
    )


def _common(a: Sample, b: Sample, datasets: Optional[Sequence[str]]) -> Tuple[List[int], List[str]]:
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError(
            f"The arms share no seed (A: {sorted(a)}, B: {sorted(b)}); a paired comparison needs "
            "runs of both configurations with the same seeds."
        )
    if datasets is None:
        datasets = [d for d in a[seeds[0]] if all(d in arm[s] for arm in (a, b) for s in seeds)]
    datasets = list(datasets)
    if not datasets:
        raise ValueError("No dataset was scored by every run of both arms.")
    return seeds, datasets
