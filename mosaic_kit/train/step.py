"""One training step, exactly as the trainer takes it (``benchmarks/perf.py`` times this same step).

A batch of one dataset arrives as uint8 images; it is augmented for the student and kept clean
for the teacher, both prepared on the training device. Loss = task loss (class-weighted with
``class_balance=loss``) + ``consistency_weight`` * MSE(student CLS on the augmented view, teacher
CLS on the clean view). Losses (and a stop flag) are averaged over ranks; a non-finite loss or
gradient norm skips the update. Otherwise: backward, gradient clipping, AdamW, then the teacher's
tensors that the step used move by EMA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..config import Config
from ..data import Normalization
from ..data.registry import get_info
from ..evaluation.evaluate import autocast, prepare
from ..models.mosaic import MosaicModel
from ..utils import distributed as dist
from .ema import ExpertEMA
from .optim import task_loss

__all__ = ["StepResult", "TrainStep", "aug_3d"]


def aug_3d(cfg: Config) -> Dict[str, object]:
    """The volume augmentation options of ``cfg`` (``data.transforms.prepare_3d``'s keywords)."""
    return {
        "rot90": cfg.rot90_3d,
        "affine": cfg.affine_3d,
        "jitter": (cfg.jitter_3d, cfg.jitter_3d),
    }


@dataclass
class StepResult:
    loss: float  # the global batch's mean total loss
    task_loss: float
    consistency: float
    finite: bool  # False: the update was skipped (non-finite loss or gradient)
    stop: bool  # some rank was asked to stop (SIGINT / SIGTERM)


class TrainStep:
    """``step(dataset, x_u8, y)`` trains ``model`` on one batch; holds what every step shares.

    Under torchrun each rank passes its slice of the global batch (``n_global`` images in all)
    and the step's gradients are averaged through per-dataset DDP wrappers over exactly the
    tensors the step uses.
    """

    def __init__(
        self,
        model: MosaicModel,
        teacher: Optional[ExpertEMA],
        optimizer: torch.optim.Optimizer,
        norm: Normalization,
        device: torch.device,
        cfg: Config,
        aug_gen: Optional[torch.Generator] = None,
        class_weights: Optional[Dict[str, torch.Tensor]] = None,
    ) -> None:
        self.model, self.teacher, self.optimizer = model, teacher, optimizer
        self.class_weights = {n: w.to(device) for n, w in (class_weights or {}).items()}
        self.norm, self.device, self.cfg = norm, device, cfg
        self.aug_gen = aug_gen if aug_gen is not None else torch.Generator().manual_seed(cfg.seed)
        self.student = dist.DatasetDDP(model, list(model.routing), device)
        self.params = [p for p in model.parameters() if p.requires_grad]

    def __call__(
        self,
        dataset: str,
        x_u8: torch.Tensor,
        y: torch.Tensor,
        n_global: Optional[int] = None,
        stop_requested: Optional[Callable[[], bool]] = None,
    ) -> StepResult:
        """Train on one batch (this rank's slice of ``n_global`` images). ``stop_requested()`` is
        asked after the forward pass (a signal that arrives during the step stops the run after
        it) and shared by all ranks."""
        cfg, model, device = self.cfg, self.model, self.device
        info = get_info(dataset)
        world, n_local = dist.world_size(), len(x_u8)
        n_global = n_local if n_global is None else n_global
        shard = (dist.shard_range(n_global)[0], n_global) if world > 1 else None
        y = y.to(device, non_blocking=True)
        x_aug = prepare(
            model,
            dataset,
            x_u8,
            self.norm,
            device,
            augment=cfg.augment,
            generator=self.aug_gen,
            shard=shard,
            **(aug_3d(cfg) if info.is_3d else {"rotation_deg": cfg.rotation_deg}),
        )
        with autocast(device, cfg.amp):
            feats, logits = self.student.step(x_aug, dataset)
            t_loss = task_loss(dataset, logits.float(), y, self.class_weights.get(dataset))
            loss = t_loss
            cons = torch.zeros((), device=device)
            if cfg.consistency_weight > 0 and self.teacher is not None:
                with torch.no_grad():
                    target = self.teacher.model.forward_features(
                        prepare(model, dataset, x_u8, self.norm, device), dataset
                    )
                cons = F.mse_loss(feats.float(), target.float())
                loss = t_loss + cfg.consistency_weight * cons
        # the global batch's means (and whether any rank was asked to stop), the same on every rank
        stats = dist.all_mean(
            torch.stack(
                [
                    loss.detach(),
                    t_loss.detach(),
                    cons.detach(),
                    torch.tensor(float(bool(stop_requested and stop_requested())), device=device),
                ]
            ),
            n_local,
        ).tolist()
        self.optimizer.zero_grad(set_to_none=True)
        finite = bool(np.isfinite(stats[0]))
        if finite:
            # DDP averages over ranks; the weight makes that the global batch's mean for uneven
            # shards
            (loss * (n_local * world / n_global) if world > 1 else loss).backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(
                [p for p in self.params if p.grad is not None],
                cfg.grad_clip if cfg.grad_clip > 0 else float("inf"),
            )
            finite = bool(torch.isfinite(grad_norm))
        if finite:
            self.optimizer.step()
            if self.teacher is not None:
                self.teacher.update(
                    dataset, cfg.ema_momentum_3d if info.is_3d else cfg.ema_momentum
                )
        else:  # skip the update; the caller keeps the schedule and counts it
            self.optimizer.zero_grad(set_to_none=True)
        return StepResult(stats[0], stats[1], stats[2], finite, stats[3] > 0)
