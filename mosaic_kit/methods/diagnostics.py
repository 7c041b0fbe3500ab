"""What a method's mixing side modules do with a batch: the mean weight each expert gets (router load of
``mos-soft``, gate weights of ``gmoe``), read from the modules' ``mixing_weights``."""
from __future__ import annotations

from typing import Dict, Optional

import torch

from ..models.mosaic import MosaicModel

__all__ = ["has_mixing", "mixing_load", "mixing_summary"]


def has_mixing(model: MosaicModel) -> bool:
    return any(hasattr(side, "mixing_weights") for _, side in model.side_modules())


@torch.no_grad()
def mixing_load(model: MosaicModel, x: torch.Tensor, dataset: str) -> Optional[torch.Tensor]:
    """(layers, K) mean mixing weights of a prepared batch of ``dataset`` (K experts, in ``mixing_names`` order);
    None for a model without mixing side modules."""
    sides = [side for _, side in model.side_modules() if hasattr(side, "mixing_weights")]
    if not sides:
        return None
    was_training = model.training
    model.eval()
    model.forward_features(x, dataset)
    model.train(was_training)
    return torch.stack([s.mixing_weights.float().reshape(-1, s.mixing_weights.shape[-1]).mean(0) for s in sides])


def mixing_summary(model: MosaicModel, x: torch.Tensor, dataset: str) -> Dict[str, float]:
    """``{expert: mean weight over layers, samples and tokens}`` (empty without mixing side modules)."""
    load = mixing_load(model, x, dataset)
    if load is None:
        return {}
    names = next(s for _, s in model.side_modules() if hasattr(s, "mixing_weights")).mixing_names
    return {n: round(float(v), 4) for n, v in zip(names, load.mean(0))}
