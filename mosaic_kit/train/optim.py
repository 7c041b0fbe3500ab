"""Optimizer, learning-rate schedule, losses and round order of the cyclic multi-task training."""

from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from timm.optim import param_groups_weight_decay
from timm.scheduler import CosineLRScheduler

from ..config import Config
from ..data.registry import get_info
from ..models.mosaic import MosaicModel

__all__ = [
    "build_optimizer",
    "volume_only_parameters",
    "steps_per_round",
    "build_scheduler",
    "task_loss",
    "class_weights",
    "round_order",
]


def build_optimizer(model: MosaicModel, cfg: Config) -> torch.optim.AdamW:
    """AdamW over the trainable tensors only; no weight decay on biases, norms and what the
    model's ``no_weight_decay()`` lists (timm's convention: position embeddings, CLS token). With
    ``lr_3d_scale != 1`` the tensors that only 3D datasets train (``volume_only_parameters``) get
    two groups of their own at ``lr * lr_3d_scale``."""
    # timm lists the no-decay group first; the kit keeps [decay, no decay] so earlier runs'
    # optimizer states resume
    groups = param_groups_weight_decay(
        model, cfg.weight_decay, no_weight_decay_list=model.no_weight_decay()
    )[::-1]
    if cfg.lr_3d_scale == 1.0:
        return torch.optim.AdamW(groups, lr=cfg.lr)
    only_3d = {id(p) for n, p in model.named_parameters() if n in volume_only_parameters(model)}
    split = [
        {
            **g,
            "params": [p for p in g["params"] if (id(p) in only_3d) == is_3d],
            **({"lr": cfg.lr * cfg.lr_3d_scale} if is_3d else {}),
        }
        for is_3d in (False, True)
        for g in groups
    ]
    return torch.optim.AdamW([g for g in split if g["params"]], lr=cfg.lr)


def volume_only_parameters(model: MosaicModel) -> set:
    """Names of the trainable tensors that 3D datasets use and no 2D dataset does."""
    used = {False: set(), True: set()}
    for name, info in model.infos.items():
        used[info.is_3d] |= set(model.active_parameter_names(name))
    return used[True] - used[False]


def steps_per_round(
    cfg: Config, datasets: List[str], epoch_steps: Dict[str, int]
) -> Dict[str, int]:
    """Optimiser steps per round of each dataset: one epoch (``full_epoch``), else
    ``steps_per_dataset``, or ``steps_per_dataset_3d`` for 3D datasets when it is set."""
    if cfg.full_epoch:
        return {n: epoch_steps[n] for n in datasets}
    own = cfg.steps_per_dataset_3d or cfg.steps_per_dataset
    return {n: own if get_info(n).is_3d else cfg.steps_per_dataset for n in datasets}


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: Config, total_steps: int
) -> CosineLRScheduler:
    """Per-step linear warm-up from ``lr / 1000``, then cosine to ``min_lr`` at ``total_steps``
    (timm's)."""
    return CosineLRScheduler(
        optimizer,
        t_initial=total_steps,
        lr_min=cfg.min_lr,
        warmup_t=min(cfg.warmup_steps, total_steps),
        warmup_lr_init=cfg.lr * 1e-3,
        t_in_epochs=False,
    )


def task_loss(
    dataset: str, logits: torch.Tensor, y: torch.Tensor, weight: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """BCE-with-logits for multi-label datasets (ChestMNIST), cross-entropy otherwise; ``weight``
    (from ``class_weights``) weighs the classes, or the positives of each label (``pos_weight``)
    for multi-label."""
    if get_info(dataset).is_multilabel:
        return F.binary_cross_entropy_with_logits(logits, y.float(), pos_weight=weight)
    if weight is None:
        return F.cross_entropy(logits, y[:, 0])
    # the weighted mean over the batch: a batch's loss scale does not depend on which classes it
    # drew
    return F.cross_entropy(logits, y[:, 0], weight=weight)


def class_weights(dataset: str, labels: np.ndarray) -> torch.Tensor:
    """Inverse-frequency class weights of a training split, ``n / (K n_k)`` (1 for every class of
    a balanced split); for multi-label datasets the ``pos_weight`` of each label, ``n_negative /
    n_positive``. A class absent from the split gets weight 0 in place of infinity."""
    info = get_info(dataset)
    y = np.asarray(labels).reshape(len(labels), -1)
    if info.is_multilabel:
        pos = y.sum(0).astype(np.float64)
        w = np.where(pos > 0, (len(y) - pos) / np.maximum(pos, 1), 0.0)
    else:
        counts = np.bincount(y[:, 0].astype(np.int64), minlength=info.n_classes).astype(np.float64)
        w = np.where(counts > 0, len(y) / (info.n_classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(w, dtype=torch.float32)


def round_order(datasets: List[str], seed: int, rnd: int) -> List[str]:
    """The seeded shuffled order in which round ``rnd`` visits the datasets."""
    perm = torch.randperm(len(datasets), generator=torch.Generator().manual_seed(seed * 7919 + rnd))
    return [datasets[i] for i in perm.tolist()]
