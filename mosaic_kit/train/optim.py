"""Optimizer, learning-rate schedule, losses and round order of the cyclic multi-task training."""
from __future__ import annotations

from typing import List

import torch
import torch.nn.functional as F
from timm.optim import param_groups_weight_decay
from timm.scheduler import CosineLRScheduler

from ..config import Config
from ..models.mosaic import MosaicModel
from ..registry import get_info

__all__ = ["build_optimizer", "build_scheduler", "task_loss", "round_order"]


def build_optimizer(model: MosaicModel, cfg: Config) -> torch.optim.AdamW:
    """AdamW over the trainable tensors only; no weight decay on biases, norms and what the model's
    ``no_weight_decay()`` lists (timm's convention: position embeddings, CLS token)."""
    groups = param_groups_weight_decay(model, cfg.weight_decay, no_weight_decay_list=model.no_weight_decay())
    # timm lists the no-decay group first; the kit keeps [decay, no decay] so earlier runs' optimizer states resume
    return torch.optim.AdamW(groups[::-1], lr=cfg.lr)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: Config, total_steps: int) -> CosineLRScheduler:
    """Per-step linear warm-up from ``lr / 1000``, then cosine to ``min_lr`` at ``total_steps`` (timm's)."""
    return CosineLRScheduler(optimizer, t_initial=total_steps, lr_min=cfg.min_lr,
                             warmup_t=min(cfg.warmup_steps, total_steps), warmup_lr_init=cfg.lr * 1e-3,
                             t_in_epochs=False)


def task_loss(dataset: str, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """BCE-with-logits for multi-label datasets (ChestMNIST), cross-entropy otherwise."""
    if get_info(dataset).is_multilabel:
        return F.binary_cross_entropy_with_logits(logits, y.float())
    return F.cross_entropy(logits, y[:, 0])


def round_order(datasets: List[str], seed: int, rnd: int) -> List[str]:
    """The seeded shuffled order in which round ``rnd`` visits the datasets."""
    perm = torch.randperm(len(datasets), generator=torch.Generator().manual_seed(seed * 7919 + rnd))
    return [datasets[i] for i in perm.tolist()]
