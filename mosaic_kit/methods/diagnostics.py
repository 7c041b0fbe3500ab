"""What a method's mixing modules do with a batch: the mean weight each expert gets (router load
of ``mos-soft``, gate weights of ``gmoe`` and ``gmoe-shared``), read from the modules'
``mixing_weights``."""

from __future__ import annotations

from typing import Dict, List, Optional

import torch
import torch.nn as nn

from ..models.mosaic import MosaicModel

__all__ = ["has_mixing", "mixing_modules", "mixing_load", "mixing_summary"]


def mixing_modules(model: MosaicModel) -> List[nn.Module]:
    """Modules that weigh experts, in order: per-block side modules (``mos-soft``,
    ``gmoe-shared``) or the model's one gate (``gmoe``)."""
    return [m for m in model.modules() if hasattr(m, "mixing_weights")]


def has_mixing(model: MosaicModel) -> bool:
    return bool(mixing_modules(model))


@torch.no_grad()
def mixing_load(model: MosaicModel, x: torch.Tensor, dataset: str) -> Optional[torch.Tensor]:
    """(mixing modules, K) mean mixing weights of a prepared batch of ``dataset`` (K experts, in
    ``mixing_names`` order); None for a model without mixing modules."""
    mods = mixing_modules(model)
    if not mods:
        return None
    was_training = model.training
    model.eval()
    model.forward_features(x, dataset)
    model.train(was_training)
    return torch.stack(
        [m.mixing_weights.float().reshape(-1, m.mixing_weights.shape[-1]).mean(0) for m in mods]
    )


def mixing_summary(model: MosaicModel, x: torch.Tensor, dataset: str) -> Dict[str, float]:
    """``{expert: mean weight over mixing modules, samples and tokens}`` (empty without mixing
    modules)."""
    load = mixing_load(model, x, dataset)
    if load is None:
        return {}
    names = mixing_modules(model)[0].mixing_names
    return {n: round(float(v), 4) for n, v in zip(names, load.mean(0))}
