"""What a run is about to do, printed once when training starts (and by ``train --dry-run``
without training)."""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from ..config import Config
from ..data.registry import build_routing, get_info

__all__ = ["run_summary"]


def run_summary(
    cfg: Config,
    datasets: Sequence[str],
    model: Optional[torch.nn.Module] = None,
    device: Optional[str] = None,
    resumed_at: Optional[int] = None,
) -> str:
    """A few lines: where the run goes, which method, backbone and weights, the datasets by
    specialist and input size, the schedule, and (given the built ``model``) its trainable
    parameters."""
    trainable = (
        sum(p.numel() for p in model.parameters() if p.requires_grad) if model is not None else None
    )
    total = sum(p.numel() for p in model.parameters()) if model is not None else None
    routing = build_routing(datasets, cfg.routing)
    by = {}
    for name in datasets:
        by.setdefault(routing[name], []).append(name)
    has_3d = any(get_info(n).is_3d for n in datasets)
    sizes = f"2D files at {cfg.size} px shown at {cfg.img_size} px" + (
        f", 3D files at {cfg.size_3d}^3 shown at {cfg.vol_size}^3" if has_3d else ""
    )
    params = (
        f"{trainable:,} of {total:,} parameters trainable ({100 * trainable / total:.2f}%)"
        if trainable is not None and total
        else "parameters: `python -m mosaic_kit params` counts them"
    )
    lines = [
        f"run directory: {cfg.out}" + (f" (resuming at step {resumed_at})" if resumed_at else ""),
        f"method {cfg.method} on {cfg.backbone}, weights {cfg.weights or 'none (random init)'}"
        + (f", device {device}" if device else ""),
        f"{len(datasets)} dataset(s) from {cfg.data_root}: "
        + "; ".join(f"{s}: {', '.join(ns)}" for s, ns in sorted(by.items())),
        sizes,
        f"schedule: {cfg.rounds} rounds x "
        f"{'one epoch' if cfg.full_epoch else f'{cfg.steps_per_dataset} steps'} per dataset"
        + (
            f" ({cfg.steps_per_dataset_3d} per 3D dataset)"
            if has_3d and cfg.steps_per_dataset_3d and not cfg.full_epoch
            else ""
        )
        + f", batch {cfg.batch_size}, lr {cfg.lr:g}"
        + (
            f" (x{cfg.lr_3d_scale:g} for 3D-only tensors)"
            if has_3d and cfg.lr_3d_scale != 1
            else ""
        )
        + f", seed {cfg.seed}",
        params,
    ]
    return "\n".join(lines)
