"""MOSAIC (hard routing) and its soft-routing ablation."""
from __future__ import annotations

from typing import List, Mapping

import torch
import torch.nn as nn
from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..models.adapter import Adapter
from ..models.mosaic import MosaicModel
from ..registry import build_routing
from .common import always_trainable, constant_routing, make_model

__all__ = ["build_hard", "build_soft", "SoftMixture", "router_load"]


def _bottlenecks(cfg: Config) -> dict:
    return {"A": cfg.bottleneck_a, "B": cfg.bottleneck_b, "C": cfg.bottleneck_c}


def build_hard(cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
    """Hard routing: a batch runs only its dataset's specialist (the paper's routing, ``routing`` overrides)."""
    return MosaicModel(vit, build_routing(datasets, cfg.routing), _bottlenecks(cfg), cfg.adapter_scale,
                       cfg.adapter_input, cfg.vol_size, cfg.patch_3d)


class SoftMixture(nn.Module):
    """``sum_k softmax(router(mean_t x))_k * adapter_k(x)``: every specialist runs on every sample, weighted by a
    per-layer linear router on the token average. ``last_weights`` keeps the latest (B, K) weights."""

    def __init__(self, dim: int, bottlenecks: Mapping[str, int], scale: float = 0.1) -> None:
        super().__init__()
        self.specialists = nn.ModuleDict({name: Adapter(dim, b, scale) for name, b in bottlenecks.items()})
        self.router = nn.Linear(dim, len(bottlenecks))
        nn.init.zeros_(self.router.weight)  # uniform mixture at init
        nn.init.zeros_(self.router.bias)
        self.last_weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, specialist: str) -> torch.Tensor:
        w = self.router(x.mean(1)).softmax(-1)
        self.last_weights = w.detach()
        outs = torch.stack([a(x) for a in self.specialists.values()], -1)  # (B, T, D, K)
        return (outs * w[:, None, None, :]).sum(-1)


def build_soft(cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
    """Soft routing ablation: the three specialists, mixed by a learned router instead of the routing table."""
    return make_model(cfg, vit, constant_routing(datasets, "soft"),
                      side=lambda dim: SoftMixture(dim, _bottlenecks(cfg), cfg.adapter_scale),
                      trainable=lambda n: ".mos." in n or always_trainable(n))


@torch.no_grad()
def router_load(model: MosaicModel, x: torch.Tensor, dataset: str) -> torch.Tensor:
    """(layers, K) mean router weights of a prepared batch of ``dataset`` (K = specialists A, B, C)."""
    model.eval()
    model.forward_features(x, dataset)
    return torch.stack([blk.mos.last_weights.float().mean(0) for blk in model.vit.blocks])
