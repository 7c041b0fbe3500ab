"""MOSAIC (hard-routed specialists A/B/C) and its soft-routing ablation (``mos-soft``)."""

from __future__ import annotations

from typing import List, Mapping, Optional

import torch
import torch.nn as nn
from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..config.method_keys import MosOptions
from ..data.registry import build_routing
from ..models.adapter import Adapter, MixtureOfSpecialists
from ..models.mosaic import MosaicModel
from .base import Method, constant_routing

__all__ = ["MosOptions", "Mos", "MosSoft", "SoftMixture"]


def _specialist_of(name: str, slot: str) -> Optional[str]:
    marker = f".{slot}.specialists."
    return name.split(marker, 1)[1].split(".", 1)[0] if marker in name else None


class Mos(Method):
    """Hard routing: a batch runs only its dataset's specialist (the paper's routing; ``routing``
    overrides)."""

    name, summary, options, slot = "mos", "MOSAIC: hard-routed specialists A/B/C", MosOptions, "mos"

    def build(self, cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
        routing = build_routing(datasets, cfg.routing)
        used = {
            s: b
            for s, b in cfg.options(MosOptions).bottlenecks().items()
            if s in set(routing.values())
        }
        return self.make_model(
            cfg, vit, routing, side=lambda dim: MixtureOfSpecialists(dim, used, cfg.adapter_scale)
        )

    def component(self, name: str) -> Optional[str]:
        spec = _specialist_of(name, self.slot)
        return f"adapter_{spec}" if spec else super().component(name)


class SoftMixture(nn.Module):
    """``sum_k softmax(router(mean_t x))_k * adapter_k(x)``: every specialist runs on every
    sample, weighted by a per-layer linear router on the token average. ``mixing_weights`` keeps
    the latest (B, K) weights."""

    def __init__(self, dim: int, bottlenecks: Mapping[str, int], scale: float = 0.1) -> None:
        super().__init__()
        self.specialists = nn.ModuleDict(
            {name: Adapter(dim, b, scale) for name, b in bottlenecks.items()}
        )
        self.router = nn.Linear(dim, len(bottlenecks))
        nn.init.zeros_(self.router.weight)  # uniform mixture at init
        nn.init.zeros_(self.router.bias)
        self.mixing_names = list(bottlenecks)
        self.mixing_weights: Optional[torch.Tensor] = None

    def forward(self, x: torch.Tensor, specialist: str) -> torch.Tensor:
        w = self.router(x.mean(1)).softmax(-1)
        self.mixing_weights = w.detach()
        outs = torch.stack([a(x) for a in self.specialists.values()], -1)  # (B, T, D, K)
        return (outs * w[:, None, None, :]).sum(-1)


class MosSoft(Method):
    """Soft routing ablation: the three specialists, mixed by a learned router instead of the
    routing table."""

    name, summary, options, slot = (
        "mos-soft",
        "specialists A/B/C mixed by a learned softmax router",
        MosOptions,
        "mos",
    )

    def build(self, cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
        widths = cfg.options(MosOptions).bottlenecks()
        return self.make_model(
            cfg,
            vit,
            constant_routing(datasets, "soft"),
            side=lambda dim: SoftMixture(dim, widths, cfg.adapter_scale),
        )

    def component(self, name: str) -> Optional[str]:
        spec = _specialist_of(name, self.slot)
        if spec:
            return f"adapter_{spec}"
        return "router" if f".{self.slot}.router." in name else super().component(name)
