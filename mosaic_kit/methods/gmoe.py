"""GMoE-Adapter of Med-VTAB, as implemented here.

In every block, beside the MLP (MOSAIC's insertion point), two AdaptFormer adapters of the same width run on
the block's input: a "general" expert ``A_g`` and a "medical" expert ``A_m``. A learnable gate computes, per
token, ``alpha = softmax(W x + b)`` over the two experts, and the block adds
``alpha_g * A_g(x) + alpha_m * A_m(x)`` (each adapter already scaled by ``adapter_scale``). The gate starts at
zero (an even mix); the experts' up-projections start at zero, unless an expert is initialised from a trained
adapter: ``gmoe_init_general`` / ``gmoe_init_medical`` name a checkpoint of this kit holding one adapter per
block (``best.safetensors`` of a ``method=adapter`` run, e.g. on another data source), so the two experts can
start from different pre-training, which is the paper's point. The paper pairs two different backbones; here
one frozen backbone is shared and the "sources" are the experts' starting weights.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from timm.models.vision_transformer import VisionTransformer

from ..checkpoint import load_tensors
from ..config import Config, Options, option
from ..models.adapter import Adapter
from ..models.mosaic import MosaicModel
from .adapters import SharedAdapter
from .base import Method, constant_routing, upgrade_names

__all__ = ["GmoeOptions", "GatedExperts", "Gmoe", "load_expert"]

EXPERTS = ("general", "medical")


@dataclass
class GmoeOptions(Options):
    gmoe_bottleneck: int = option(64, "bottleneck of each GMoE-Adapter expert (method=gmoe)")
    gmoe_init_general: Optional[str] = option(None, "safetensors of a trained adapter to start the 'general' expert "
                                                    "from", path=True)
    gmoe_init_medical: Optional[str] = option(None, "safetensors of a trained adapter to start the 'medical' expert "
                                                    "from", path=True)

    def problems(self) -> List[str]:
        return self.check_positive("gmoe_bottleneck")


class GatedExperts(nn.Module):
    """Per-token softmax gate over the general and medical expert adapters; ``mixing_weights`` keeps (B, T, 2)."""

    def __init__(self, dim: int, bottleneck: int, scale: float = 0.1) -> None:
        super().__init__()
        self.experts = nn.ModuleDict({e: Adapter(dim, bottleneck, scale) for e in EXPERTS})
        self.gate = nn.Linear(dim, len(EXPERTS))
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)
        self.mixing_names = list(EXPERTS)
        self.mixing_weights: Optional[torch.Tensor] = None

    def forward(self, x: torch.Tensor, specialist: str) -> torch.Tensor:
        g = self.gate(x).softmax(-1)
        self.mixing_weights = g.detach()
        return g[..., :1] * self.experts["general"](x) + g[..., 1:] * self.experts["medical"](x)


_KEY = re.compile(r"blocks\.(\d+)\.adapter\.((?:down|up)\.(?:weight|bias))$")


def load_expert(path: str | Path, depth: int) -> Dict[int, Dict[str, torch.Tensor]]:
    """Per-block ``{"down.weight", ...}`` of the single adapter stored in a ``method=adapter`` checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"GMoE expert initialisation '{path}' not found (give a best.safetensors of a "
                                "method=adapter run, or leave gmoe_init_* empty).")
    groups, meta = load_tensors(path)
    if meta.get("method", SharedAdapter.name) != SharedAdapter.name:
        raise ValueError(f"{path} was written by method '{meta['method']}'; a GMoE expert starts from a "
                         "method=adapter checkpoint (one adapter per block).")
    per_block: Dict[int, Dict[str, torch.Tensor]] = {}
    for key, t in upgrade_names(SharedAdapter.name, groups.get("student", {}), meta).items():
        m = _KEY.search(key)
        if m:
            per_block.setdefault(int(m.group(1)), {})[m.group(2)] = t
    if sorted(per_block) != list(range(depth)):
        raise ValueError(f"{path} must hold one adapter in each of {depth} blocks (a method=adapter checkpoint); "
                         f"found adapters in blocks {sorted(per_block)}.")
    return per_block


class Gmoe(Method):
    name, summary = "gmoe", "GMoE-Adapter of Med-VTAB: gated general + medical expert adapters"
    options, slot = GmoeOptions, "gmoe"
    legacy_renames = ((".mos.", ".gmoe."),)

    def build(self, cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
        opts = cfg.options(GmoeOptions)
        model = self.make_model(cfg, vit, constant_routing(datasets, "gmoe"),
                                side=lambda dim: GatedExperts(dim, opts.gmoe_bottleneck, cfg.adapter_scale))
        for expert, path in (("general", opts.gmoe_init_general), ("medical", opts.gmoe_init_medical)):
            if not path:
                continue
            for i, tensors in load_expert(path, len(model.vit.blocks)).items():
                target = model.vit.blocks[i].side.experts[expert]
                own = target.state_dict()
                bad = [k for k, t in tensors.items() if own[k].shape != t.shape]
                if bad:
                    raise ValueError(f"{path}: adapter shapes {[(k, tuple(tensors[k].shape)) for k in bad]} do not "
                                     f"fit gmoe_bottleneck={opts.gmoe_bottleneck} on a {model.embed_dim}-wide "
                                     "backbone.")
                target.load_state_dict(tensors)
        return model

    def component(self, name: str) -> Optional[str]:
        marker = f".{self.slot}.experts."
        if marker in name:
            return "expert_" + name.split(marker, 1)[1].split(".", 1)[0]
        return "router" if f".{self.slot}.gate." in name else super().component(name)
