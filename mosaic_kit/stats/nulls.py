"""Semi-synthetic pairs of arms built from committed runs: the ground on which a comparison rule is
calibrated.

From the per-sample outputs of real runs (one or two configurations, several seeds each, on the same
samples) a ``Structure`` keeps, per dataset, the labels, each configuration's **per-sample mean**
log-score over its seeds and the **seed-deviation vectors** (each run's log-scores minus its
configuration's mean): a seed that shifts every sample of a run, or a whole dataset of a multi-task
run, keeps that shift. A replicate then

1. draws a **fresh test set**: the committed samples resampled with replacement (the same draw for
   both arms);
2. gives each simulated seed of each arm a new seed deviation, a Gaussian combination ``w @ D`` of
   the pooled deviation vectors (``w ~ N(0, 1 / dof)``), whose covariance over samples and datasets
   is that of the committed seeds; one ``w`` per simulated run serves every dataset of it, so a
   multi-task run's datasets move together;
3. builds the arms' per-sample means: ``"seeds"`` gives both arms the first configuration's mean
   (the arms differ by seed noise only); ``"samples"`` takes two configurations' means and swaps
   them at random per sample, so the arms differ sample by sample but not in distribution (a test
   set can favour either arm, as with two real methods of equal skill);
4. plants an optional effect: ``shift`` added to arm A's log-score of each sample's true class (0: a
   null).

Under ``shift = 0`` both arms are exchangeable, so the true difference of any metric is exactly
zero; with a shift, ``true_difference`` estimates it from many replicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

from ..evaluation.metrics import compute_metrics

__all__ = ["Structure", "structure_from_samples", "replicate", "true_difference", "NULL_KINDS"]

#: How the arms of a null differ: by seed noise only, or sample by sample as well.
NULL_KINDS = ("seeds", "samples")

_EPS = 1e-6


@dataclass
class Structure:
    """Per dataset: task, labels (N,) or (N, 1), per-sample mean log-scores of each configuration
    (N, C), and the pooled seed-deviation vectors (K, N, C) of all configurations; ``dof`` = sum
    over configurations of seeds - 1."""

    tasks: Dict[str, str]
    labels: Dict[str, np.ndarray]
    means: Dict[str, List[np.ndarray]]
    deviations: Dict[str, np.ndarray]
    dof: int

    @property
    def datasets(self) -> List[str]:
        return list(self.tasks)


def _log_scores(scores: np.ndarray) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 1 or s.shape[1] == 1:  # probability of the positive class only
        p = s.reshape(-1)
        s = np.stack([1 - p, p], 1)
    return np.log(np.clip(s, _EPS, 1.0))


def structure_from_samples(
    samples: Sequence[Mapping[int, Mapping[str, Tuple[np.ndarray, np.ndarray]]]],
    tasks: Mapping[str, str],
) -> Structure:
    """The structure of one or two configurations' runs (``stats.Sample`` each: seed -> dataset
    -> (labels, scores)) on the datasets of ``tasks``. Each configuration needs at least two
    seeds; multi-label tasks are not supported (their scores are per-label sigmoids, not one
    distribution)."""
    if not 1 <= len(samples) <= 2:
        raise ValueError("A structure is built from one or two configurations' runs.")
    labels: Dict[str, np.ndarray] = {}
    means: Dict[str, List[np.ndarray]] = {d: [] for d in tasks}
    devs: Dict[str, List[np.ndarray]] = {d: [] for d in tasks}
    dof = 0
    for sample in samples:
        seeds = sorted(sample)
        if len(seeds) < 2:
            raise ValueError(
                f"A configuration needs at least two seeds to show its seed noise (got {seeds})."
            )
        dof += len(seeds) - 1
        for d, task in tasks.items():
            if task.startswith("multi-label"):
                raise ValueError(
                    f"{d}: multi-label outputs are not supported by the semi-synthetic nulls."
                )
            y = np.asarray(sample[seeds[0]][d][0])
            if d in labels and not np.array_equal(labels[d], y):
                raise ValueError(f"{d}: the configurations did not score the same samples.")
            labels[d] = y
            logs = np.stack([_log_scores(sample[s][d][1]) for s in seeds])  # (S, N, C)
            means[d].append(logs.mean(0))
            devs[d].append(logs - logs.mean(0))
    return Structure(
        dict(tasks), labels, means, {d: np.concatenate(v) for d, v in devs.items()}, dof
    )


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def replicate(
    st: Structure, rng: np.random.Generator, n_seeds: int, kind: str = "seeds", shift: float = 0.0
) -> Tuple[Dict[int, Dict[str, tuple]], Dict[int, Dict[str, tuple]]]:
    """One pair of arms (A, B), each ``{seed: {dataset: (labels, probabilities)}}`` on one fresh
    test set per dataset (module docstring)."""
    if kind not in NULL_KINDS:
        raise ValueError(f"kind must be one of {NULL_KINDS}, not {kind!r}.")
    if kind == "samples" and any(len(m) < 2 for m in st.means.values()):
        raise ValueError("A 'samples' null needs the structure of two configurations.")
    k = next(iter(st.deviations.values())).shape[0]
    # per arm and run: one combination
    w = rng.normal(scale=1 / np.sqrt(st.dof), size=(2, n_seeds, k))
    arms: List[Dict[int, Dict[str, tuple]]] = [{s: {} for s in range(n_seeds)} for _ in range(2)]
    for d in st.datasets:
        n = len(st.labels[d])
        idx = rng.integers(0, n, n)
        y = st.labels[d][idx]
        m0 = st.means[d][0][idx]
        if kind == "samples":
            m1 = st.means[d][1][idx]
            flip = (rng.random(n) < 0.5)[:, None]
            mean = (np.where(flip, m0, m1), np.where(flip, m1, m0))
        else:
            mean = (m0, m0)
        dev = st.deviations[d][:, idx]  # (K, N, C)
        onehot = np.eye(dev.shape[-1])[y.reshape(-1).astype(int)]
        for a in range(2):
            for s in range(n_seeds):
                z = mean[a] + np.tensordot(w[a, s], dev, 1) + (shift * onehot if a == 0 else 0.0)
                arms[a][s][d] = (y, _softmax(z).astype(np.float32))
    return arms[0], arms[1]


def true_difference(
    st: Structure, kind: str, shift: float, n_rep: int = 400, n_seeds: int = 5, seed: int = 12345
) -> Dict[str, Tuple[float, float]]:
    """Per metric, the expected A - B (mean over datasets) of ``replicate`` and its Monte-Carlo
    standard error: exactly 0 for a null, estimated from ``n_rep`` replicates for a planted
    shift."""
    if shift == 0:
        return {"acc": (0.0, 0.0), "auc": (0.0, 0.0)}
    rng = np.random.default_rng(seed)
    diffs = {"acc": [], "auc": []}
    for _ in range(n_rep):
        a, b = replicate(st, rng, n_seeds, kind, shift)
        for m in diffs:
            diffs[m].append(
                np.mean(
                    [
                        compute_metrics(st.tasks[d], *a[s][d])[m]
                        - compute_metrics(st.tasks[d], *b[s][d])[m]
                        for s in a
                        for d in st.datasets
                    ]
                )
            )
    return {
        m: (float(np.mean(v)), float(np.std(v, ddof=1) / np.sqrt(len(v)))) for m, v in diffs.items()
    }
