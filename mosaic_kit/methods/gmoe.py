"""GMoE-Adapter of Med-VTAB, in two forms.

``gmoe`` (the paper's): two frozen pre-trained backbones from different domains, a "general" one
(the run's ``backbone``/``weights``, or ``gmoe_general_weights``) and a "medical" one
(``gmoe_medical_weights``, optionally another architecture of the same width,
``gmoe_medical_backbone``). Each carries its own expert adapter (AdaptFormer, width
``gmoe_bottleneck``) in every block and its own 3D tokenizer (a volume tokenizer maps into one
backbone's embedding space, which the other does not share). Per sample, a gate computed from the
two CLS features, ``alpha = softmax(W [f_g; f_m] + b)``, weighs the experts' final features before
the dataset's head: ``f = alpha_g f_g + alpha_m f_m``. The gate starts at zero (an even mix). Two
backbone passes per batch.

``gmoe-shared`` (the earlier, cheaper form): one frozen backbone; in every block two adapters, a
"general" ``A_g`` and a "medical" ``A_m``, mixed per token by ``alpha = softmax(W x + b)``:
``alpha_g A_g(x) + alpha_m A_m(x)``. The two experts differ only through their starting weights:
``gmoe_init_general`` / ``gmoe_init_medical`` name a checkpoint of this kit holding one adapter per
block (``best.safetensors`` of a ``method=adapter`` run, e.g. on another data source).

A medical ViT for ``gmoe_medical_weights`` is any file in timm's layout
(``.safetensors``/``.pth``, keys like ``blocks.0.attn.qkv.weight``) or ``timm:ARCH.TAG`` from the
Hugging Face cache.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..config.method_keys import GmoeOptions
from ..models.adapter import Adapter
from ..models.backbone import create_backbone
from ..models.dual import DualBackboneModel
from ..models.mosaic import MosaicModel
from ..utils.checkpoint import load_tensors
from .adapters import SharedAdapter
from .base import ALWAYS_TRAINABLE, Method, constant_routing, upgrade_names

__all__ = ["GmoeOptions", "GatedExperts", "Gmoe", "GmoeShared", "load_expert"]

EXPERTS = ("general", "medical")


class GatedExperts(nn.Module):
    """Per-token softmax gate over the general and medical expert adapters; ``mixing_weights``
    keeps (B, T, 2)."""

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
    """Per-block ``{"down.weight", ...}`` of the single adapter stored in a ``method=adapter``
    checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"GMoE expert initialisation '{path}' not found (give a best.safetensors of a "
            "method=adapter run, or leave gmoe_init_* empty)."
        )
    groups, meta = load_tensors(path)
    if meta.get("method", SharedAdapter.name) != SharedAdapter.name:
        raise ValueError(
            f"{path} was written by method '{meta['method']}'; a GMoE expert starts from a "
            "method=adapter checkpoint (one adapter per block)."
        )
    per_block: Dict[int, Dict[str, torch.Tensor]] = {}
    for key, t in upgrade_names(SharedAdapter.name, groups.get("student", {}), meta).items():
        m = _KEY.search(key)
        if m:
            per_block.setdefault(int(m.group(1)), {})[m.group(2)] = t
    if sorted(per_block) != list(range(depth)):
        raise ValueError(
            f"{path} must hold one adapter in each of {depth} blocks (a method=adapter "
            f"checkpoint); found adapters in blocks {sorted(per_block)}."
        )
    return per_block


class GmoeShared(Method):
    name, summary = (
        "gmoe-shared",
        "GMoE-Adapter on one shared backbone: two expert adapters, per-token gate",
    )
    options, slot = GmoeOptions, "gmoe"
    legacy_renames = ((".mos.", ".gmoe."),)

    def build(self, cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
        opts = cfg.options(GmoeOptions)
        model = self.make_model(
            cfg,
            vit,
            constant_routing(datasets, "gmoe"),
            side=lambda dim: GatedExperts(dim, opts.gmoe_bottleneck, cfg.adapter_scale),
        )
        for expert, path in (
            ("general", opts.gmoe_init_general),
            ("medical", opts.gmoe_init_medical),
        ):
            if not path:
                continue
            for i, tensors in load_expert(path, len(model.vit.blocks)).items():
                target = model.vit.blocks[i].side.experts[expert]
                own = target.state_dict()
                bad = [k for k, t in tensors.items() if own[k].shape != t.shape]
                if bad:
                    raise ValueError(
                        f"{path}: adapter shapes {[(k, tuple(tensors[k].shape)) for k in bad]} do "
                        f"not fit gmoe_bottleneck={opts.gmoe_bottleneck} on a "
                        f"{model.embed_dim}-wide backbone."
                    )
                target.load_state_dict(tensors)
        return model

    def component(self, name: str) -> Optional[str]:
        marker = f".{self.slot}.experts."
        if marker in name:
            return "expert_" + name.split(marker, 1)[1].split(".", 1)[0]
        return "router" if f".{self.slot}.gate." in name else super().component(name)


class Gmoe(Method):
    name, summary = (
        "gmoe",
        "GMoE-Adapter of Med-VTAB: general + medical backbones with adapters, per-sample gate",
    )
    options, slot = GmoeOptions, "expert"

    def build(self, cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
        opts = cfg.options(GmoeOptions)
        if not opts.gmoe_medical_weights:
            raise ValueError(
                "method=gmoe runs two pre-trained backbones: set gmoe_medical_weights to the "
                "medical ViT's weights (a timm-layout file, or timm:ARCH.TAG), or use "
                "method=gmoe-shared, the one-backbone form."
            )
        if opts.gmoe_init_general or opts.gmoe_init_medical:
            raise ValueError(
                "gmoe_init_general/gmoe_init_medical start gmoe-shared's adapters; with "
                "method=gmoe the experts differ by their backbones (gmoe_general_weights, "
                "gmoe_medical_weights)."
            )
        if opts.gmoe_general_weights:
            vit = create_backbone(cfg.backbone, opts.gmoe_general_weights, cfg.img_size)
        medical = create_backbone(
            opts.gmoe_medical_backbone or cfg.backbone, opts.gmoe_medical_weights, cfg.img_size
        )
        return DualBackboneModel(
            vit,
            medical,
            constant_routing(datasets, "gmoe"),
            slot=self.slot,
            side=lambda dim: Adapter(dim, opts.gmoe_bottleneck, cfg.adapter_scale),
            adapter_input=cfg.adapter_input,
            vol_size=cfg.vol_size,
            patch_3d=cfg.patch_3d,
            method=self.name,
            tokenizer_3d_init=cfg.tokenizer_3d_init,
        )

    def trainable(self, name: str, model: MosaicModel, cfg: Config) -> bool:
        return (
            name.startswith(ALWAYS_TRAINABLE + ("medical.tokenizer_3d.", "gate."))
            or f".{self.slot}." in name
        )

    def component(self, name: str) -> Optional[str]:
        medical = name.startswith("medical.")
        if f".{self.slot}." in name:
            return "expert_medical" if medical else "expert_general"
        if name.startswith("gate."):
            return "router"
        if medical:
            return (
                "tokenizer_3d_medical"
                if name.startswith("medical.tokenizer_3d.")
                else "backbone_medical"
            )
        return None
