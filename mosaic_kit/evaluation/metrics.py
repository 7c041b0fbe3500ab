"""MedMNIST's official ACC/AUC semantics (as ``medmnist.Evaluator``), plus RetinaMNIST's +-1
accuracy.

``y_score`` holds probabilities: softmax over classes for binary, multi-class and ordinal tasks,
sigmoid per label for multi-label. Unlike medmnist's helpers, an AUC that is undefined (a split
with one class only, common in tiny debug subsets) is NaN with no exception; the accuracy is
still computed.
"""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from ..data.registry import TASK_MULTILABEL, TASK_ORDINAL

__all__ = [
    "compute_metrics",
    "scores_from_logits",
    "within_one_accuracy",
    "bootstrap_ci",
    "resampled_metrics",
    "majority_accuracy",
    "TASKS",
]

TASKS = ("binary-class", "multi-class", TASK_ORDINAL, TASK_MULTILABEL)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, s))


def compute_metrics(task: str, y_true: np.ndarray, y_score: np.ndarray) -> Dict[str, float]:
    """``{"acc", "auc"}`` for one dataset.

    Args:
        task: one of medmnist's task strings.
        y_true: (N,) or (N, 1) class indices; (N, L) 0/1 labels for multi-label.
        y_score: (N, C) probabilities ((N,) accepted for binary: probability of class 1).
    """
    if task not in TASKS:
        raise ValueError(f"Unknown task '{task}'; expected one of {TASKS}.")
    y_true, y_score = np.asarray(y_true), np.asarray(y_score, dtype=np.float64)
    if len(y_true) == 0:
        raise ValueError("compute_metrics got no samples.")
    if task == TASK_MULTILABEL:
        y_true = y_true.reshape(len(y_true), -1)
        # mean over labels of per-label accuracy
        acc = float(np.mean((y_score > 0.5) == (y_true > 0)))
        aucs = [_auc(y_true[:, j], y_score[:, j]) for j in range(y_true.shape[1])]
        return {"acc": acc, "auc": float(np.mean(aucs))}
    y = y_true.reshape(-1).astype(np.int64)
    if task == "binary-class":
        pos = y_score if y_score.ndim == 1 else y_score[:, -1]
        return {"acc": float(np.mean((pos > 0.5) == (y == 1))), "auc": _auc(y, pos)}
    acc = float(np.mean(y_score.argmax(1) == y))
    aucs = [_auc((y == c).astype(np.int64), y_score[:, c]) for c in range(y_score.shape[1])]
    return {"acc": acc, "auc": float(np.mean(aucs))}


def within_one_accuracy(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Share of predictions within one grade of the truth (the public code's RetinaMNIST score)."""
    y = np.asarray(y_true).reshape(-1)
    return float(np.mean(np.abs(np.asarray(y_score).argmax(1) - y) <= 1))


def scores_from_logits(task: str, logits: torch.Tensor) -> torch.Tensor:
    """Probabilities in the form ``compute_metrics`` expects."""
    return logits.sigmoid() if task == TASK_MULTILABEL else logits.softmax(-1)


def _per_sample_correct(task: str, y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray:
    """Each sample's share of ACC as ``compute_metrics`` defines it (the mean of these is the
    ACC)."""
    if task == TASK_MULTILABEL:
        y = y_true.reshape(len(y_true), -1)
        return ((y_score > 0.5) == (y > 0)).mean(1)
    y = y_true.reshape(-1).astype(np.int64)
    if task == "binary-class":
        pos = y_score if y_score.ndim == 1 else y_score[:, -1]
        return ((pos > 0.5) == (y == 1)).astype(np.float64)
    return (y_score.argmax(1) == y).astype(np.float64)


def _weighted_auc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """ROC AUC of binary labels ``y`` and scores ``s`` under per-resample sample counts ``w`` (B,
    N): the Mann-Whitney statistic with ties counted half, NaN where a resample has one class
    only."""
    order = np.argsort(s, kind="stable")
    s, y, w = s[order], y[order].astype(bool), w[:, order].astype(np.float64)
    first = np.searchsorted(s, s, side="left")  # start of each sample's tie group
    last = np.searchsorted(s, s, side="right")  # end (exclusive)
    neg = np.where(y, 0.0, w)
    cum = np.concatenate([np.zeros((len(w), 1)), np.cumsum(neg, 1)], 1)
    below, tied = cum[:, first], cum[:, last] - cum[:, first]
    n_pos, n_neg = (w * y).sum(1), neg.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            (n_pos > 0) & (n_neg > 0),
            (w * y * (below + 0.5 * tied)).sum(1) / (n_pos * n_neg),
            np.nan,
        )


def _columns(task: str, y_true: np.ndarray, y_score: np.ndarray) -> list:
    """The binary (labels, scores) columns whose AUCs ``compute_metrics`` averages."""
    n = len(y_true)
    if task == TASK_MULTILABEL:
        y = y_true.reshape(n, -1)
        return [(y[:, j], y_score[:, j]) for j in range(y.shape[1])]
    y = y_true.reshape(-1).astype(np.int64)
    if task == "binary-class":
        return [(y == 1, y_score if y_score.ndim == 1 else y_score[:, -1])]
    return [(y == c, y_score[:, c]) for c in range(y_score.shape[1])]


def resampled_metrics(
    task: str, y_true: np.ndarray, y_score: np.ndarray, counts: np.ndarray
) -> Dict[str, np.ndarray]:
    """ACC and AUC of one split under each row of ``counts`` (B, N): how often each sample is
    drawn in a resample (a bootstrap). Row ``b`` gives what ``compute_metrics`` returns on the
    resampled split; an AUC whose resample holds one class only is NaN. Vectorised over
    resamples."""
    y_true, y_score = np.asarray(y_true), np.asarray(y_score, dtype=np.float64)
    counts = np.asarray(counts)
    correct = _per_sample_correct(task, y_true, y_score)
    acc = counts @ correct / counts.sum(1)
    auc = np.mean([_weighted_auc(yc, sc, counts) for yc, sc in _columns(task, y_true, y_score)], 0)
    return {"acc": acc, "auc": auc}


def bootstrap_ci(
    task: str,
    y_true: np.ndarray,
    y_score: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Dict[str, Tuple[float, float]]:
    """Percentile bootstrap interval of ACC and AUC over the test samples (``n_boot`` seeded
    resamples with replacement, drawn as ``default_rng(seed).integers(0, N, N)`` one after
    another): the noise of one evaluation on a finite test set. Vectorised over resamples;
    resamples whose AUC is undefined are skipped."""
    n = len(y_true)
    rng, accs, aucs = np.random.default_rng(seed), [], []
    # bounded memory: (chunk, N) counts at a time
    chunk = max(1, min(n_boot, (1 << 22) // max(n, 1)))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        idx = rng.integers(0, n, (b, n))
        w = np.zeros((b, n), np.int32)
        np.add.at(w, (np.repeat(np.arange(b), n), idx.reshape(-1)), 1)
        got = resampled_metrics(task, y_true, y_score, w)
        accs.append(got["acc"])
        aucs.append(got["auc"])
    q = (100 * (1 - level) / 2, 100 * (1 + level) / 2)
    out = {}
    for k, v in (("acc", np.concatenate(accs)), ("auc", np.concatenate(aucs))):
        v = v[~np.isnan(v)]
        out[k] = (
            tuple(float(x) for x in np.percentile(v, q)) if len(v) else (float("nan"), float("nan"))
        )
    return out


def majority_accuracy(task: str, y_train: np.ndarray, y_test: np.ndarray) -> float:
    """Test ACC of always predicting the most frequent training class (per label for multi-label
    tasks)."""
    if task == TASK_MULTILABEL:
        majority = np.asarray(y_train).reshape(len(y_train), -1).mean(0) >= 0.5
        return float(np.mean(np.asarray(y_test).reshape(len(y_test), -1).astype(bool) == majority))
    counts = np.bincount(np.asarray(y_train).reshape(-1).astype(np.int64))
    return float(np.mean(np.asarray(y_test).reshape(-1) == counts.argmax()))
