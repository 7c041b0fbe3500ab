"""GMoE-Adapter of Med-VTAB (``../shared/seeds/001``), as implemented here.

In every block, beside the MLP (MOSAIC's insertion point), two AdaptFormer adapters of the same width run on
the block's input: a "general" expert ``A_g`` and a "medical" expert ``A_m``. A learnable gate computes, per
token, ``alpha = softmax(W x + b)`` over the two experts, and the block adds
``alpha_g * A_g(x) + alpha_m * A_m(x)`` (each adapter already scaled by ``adapter_scale``). The gate starts at
zero (an even mix); the experts' up-projections start at zero, unless an expert is initialised from a trained
adapter: ``gmoe_init_general`` / ``gmoe_init_medical`` name a checkpoint of this kit holding one adapter per
block (e.g. ``best.safetensors`` of a ``method=adapter`` run on another data source), so the two experts can
start from different pre-training, which is the paper's point. The paper pairs two different backbones; here
one frozen backbone is shared and the "sources" are the experts' starting weights.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..models.adapter import Adapter
from ..models.mosaic import MosaicModel
from .common import always_trainable, constant_routing, make_model

__all__ = ["GatedExperts", "build", "load_expert"]

EXPERTS = ("general", "medical")


class GatedExperts(nn.Module):
    """Per-token softmax gate over the general and medical expert adapters; ``last_gate`` keeps (B, T, 2)."""

    def __init__(self, dim: int, bottleneck: int, scale: float = 0.1) -> None:
        super().__init__()
        self.experts = nn.ModuleDict({e: Adapter(dim, bottleneck, scale) for e in EXPERTS})
        self.gate = nn.Linear(dim, len(EXPERTS))
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)
        self.last_gate: Optional[torch.Tensor] = None

    def forward(self, x: torch.Tensor, specialist: str) -> torch.Tensor:
        g = self.gate(x).softmax(-1)
        self.last_gate = g.detach()
        return g[..., :1] * self.experts["general"](x) + g[..., 1:] * self.experts["medical"](x)


_KEY = re.compile(r"blocks\.(\d+)\.mos\.specialists\.([^.]+)\.(down|up)\.(weight|bias)$")


def load_expert(path: str | Path, depth: int) -> Dict[int, Dict[str, torch.Tensor]]:
    """Per-block ``{"down.weight", ...}`` of the single adapter stored in a kit checkpoint (student group)."""
    from ..train.checkpoint import load_tensors

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"GMoE expert initialisation '{path}' not found (give a best.safetensors of a "
                                "method=adapter run, or leave gmoe_init_* empty).")
    groups, _ = load_tensors(path)
    per_block: Dict[int, Dict[str, torch.Tensor]] = {}
    names = set()
    for key, t in groups.get("student", {}).items():
        m = _KEY.search(key)
        if m:
            names.add(m.group(2))
            per_block.setdefault(int(m.group(1)), {})[f"{m.group(3)}.{m.group(4)}"] = t
    if len(names) != 1 or sorted(per_block) != list(range(depth)):
        raise ValueError(f"{path} must hold exactly one adapter in each of {depth} blocks (a method=adapter "
                         f"checkpoint); found specialists {sorted(names)} in blocks {sorted(per_block)}.")
    return per_block


def build(cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
    model = make_model(cfg, vit, constant_routing(datasets, "gmoe"),
                       side=lambda dim: GatedExperts(dim, cfg.gmoe_bottleneck, cfg.adapter_scale),
                       trainable=lambda n: ".mos." in n or always_trainable(n))
    for expert, path in (("general", cfg.gmoe_init_general), ("medical", cfg.gmoe_init_medical)):
        if not path:
            continue
        for i, tensors in load_expert(path, len(model.vit.blocks)).items():
            target = model.vit.blocks[i].mos.experts[expert]
            own = target.state_dict()
            bad = [k for k, t in tensors.items() if own[k].shape != t.shape]
            if bad:
                raise ValueError(f"{path}: adapter shapes {[(k, tuple(tensors[k].shape)) for k in bad]} do not fit "
                                 f"gmoe_bottleneck={cfg.gmoe_bottleneck} on a {model.embed_dim}-wide backbone.")
            target.load_state_dict(tensors)
    return model
