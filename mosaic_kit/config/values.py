"""The range of every shared key, checked in one place: positive and non-negative numbers,
intervals, the sizes the files exist at, choices, and the keys that only make sense together."""

from __future__ import annotations

import re
from typing import Any, List

from .coerce import range_problems

__all__ = ["value_problems", "POSITIVE", "NON_NEGATIVE", "CHOICES", "UPPER"]

POSITIVE = (
    "rounds",
    "steps_per_dataset",
    "batch_size",
    "eval_batch_size",
    "img_size",
    "vol_size",
    "patch_3d",
    "log_every",
    "max_bad_steps",
    "prefetch",
    "adapter_scale",
    "lr_3d_scale",
)
NON_NEGATIVE = (
    "lr",
    "weight_decay",
    "warmup_steps",
    "min_lr",
    "grad_clip",
    "consistency_weight",
    "patience",
    "threads",
    "seed",
)
#: Upper ends past which a value makes training degenerate or exhausts any machine, with why.
UPPER = {
    "lr": (1.0, "AdamW's updates scale with lr; above 1 every step overshoots"),
    "min_lr": (1.0, "a floor of the learning rate, at most lr"),
    "weight_decay": (1.0, "above 1 the decay outweighs the weights at usual learning rates"),
    "adapter_scale": (100.0, "the adapters' output would swamp the frozen features"),
    "consistency_weight": (100.0, "the teacher term would drown the classification loss"),
    "grad_clip": (1e6, "a clip norm this large clips nothing; use 0 to turn clipping off"),
    "threads": (1024, "more CPU threads than any machine has"),
    "img_size": (1024, "the 2D inputs are MedMNIST images of at most 224 px"),
    "vol_size": (256, "the volumes are MedMNIST files of at most 64^3"),
    "batch_size": (65536, "far beyond any accelerator's memory"),
    "eval_batch_size": (65536, "far beyond any accelerator's memory"),
}
CHOICES = {
    "norm": ("auto", "imagenet", "half"),
    "adapter_input": ("residual", "norm"),
    "amp": ("auto", "bf16", "off"),
    "tracker": ("tensorboard", "mlflow", "none"),
    "tokenizer_3d_init": ("auto", "random", "inflate", "acs"),
    "select_metric": ("acc", "auc"),
    "class_balance": ("none", "loss", "sampler"),
}


def value_problems(cfg: Any) -> List[str]:
    """Every range problem of a ``Config`` whose types are already right, as messages naming the
    key."""
    problems = range_problems(cfg, positive=POSITIVE, non_negative=NON_NEGATIVE)
    for key in ("affine_3d", "jitter_3d"):
        if not 0.0 <= getattr(cfg, key) < 0.5:
            problems.append(f"{key} must be in [0, 0.5) (got {getattr(cfg, key)})")
    if cfg.seed >= 2**63:
        problems.append(
            f"seed must be below 2**63, the largest the random generators take (got {cfg.seed})"
        )
    if not 0 <= cfg.rotation_deg <= 180:
        problems.append(f"rotation_deg must be in [0, 180] (got {cfg.rotation_deg})")
    if cfg.min_lr > cfg.lr:
        problems.append(f"min_lr ({cfg.min_lr}) must be at most lr ({cfg.lr})")
    for name, lr in cfg.lr_per_dataset.items():
        if cfg.min_lr > lr:
            problems.append(
                f"min_lr ({cfg.min_lr}) must be at most lr_per_dataset['{name}'] ({lr})"
            )
    if cfg.lr_per_dataset and not cfg.independent:
        problems.append(
            "lr_per_dataset applies to independent=true runs (one model per dataset); a joint "
            "run has one learning rate: set lr (and lr_3d_scale for the 3D datasets' tensors)"
        )
    for key in ("ema_momentum", "ema_momentum_3d"):
        if not 0.0 <= getattr(cfg, key) < 1.0:
            problems.append(f"{key} must be in [0, 1) (got {getattr(cfg, key)})")
    for key, sizes, kind in (("size", (28, 64, 128, 224), "2D"), ("size_3d", (28, 64), "3D")):
        if getattr(cfg, key) not in sizes:
            problems.append(
                f"{key} must be one of {sizes} for {kind} files (got {getattr(cfg, key)})"
            )
    if cfg.patch_3d > 0 and cfg.vol_size % cfg.patch_3d:  # patch_3d <= 0 is refused above
        problems.append(
            f"vol_size ({cfg.vol_size}) must be a multiple of patch_3d ({cfg.patch_3d})"
        )
    for key, (high, why) in UPPER.items():
        if getattr(cfg, key) > high:
            problems.append(f"{key} must be at most {high:g} (got {getattr(cfg, key):g}): {why}")
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", str(cfg.device)):
        problems.append(f"device must be auto, cpu, cuda, cuda:N or mps (got '{cfg.device}')")
    for key, allowed in CHOICES.items():
        if getattr(cfg, key) not in allowed:
            problems.append(
                f"{key} must be one of {', '.join(allowed)} (got '{getattr(cfg, key)}')"
            )
    for key, low in (
        ("loader_workers", 0),
        ("eval_max_samples", 1),
        ("steps_per_dataset_3d", 1),
    ):
        if getattr(cfg, key) is not None and getattr(cfg, key) < low:
            problems.append(f"{key} must be >= {low} or None (got {getattr(cfg, key)})")
    return problems
