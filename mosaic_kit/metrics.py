"""MedMNIST's official ACC/AUC semantics (as ``medmnist.Evaluator``), plus RetinaMNIST's +-1 accuracy.

``y_score`` holds probabilities: softmax over classes for binary, multi-class and ordinal tasks, sigmoid per
label for multi-label. Unlike medmnist's helpers, an AUC that is undefined (a split with one class only,
common in tiny debug subsets) is NaN with no exception; the accuracy is still computed.
"""
from __future__ import annotations

from typing import Dict

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from .registry import TASK_MULTILABEL, TASK_ORDINAL

__all__ = ["compute_metrics", "scores_from_logits", "within_one_accuracy", "TASKS"]

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
        acc = float(np.mean((y_score > 0.5) == (y_true > 0)))  # mean over labels of per-label accuracy
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
