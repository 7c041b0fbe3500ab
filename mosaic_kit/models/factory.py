"""Build a model from a Config, and report its parameters by component."""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, Tuple

import torch
import torch.nn as nn

from ..config import Config
from ..data.transforms import Normalization
from ..registry import build_routing, resolve_datasets
from .backbone import create_backbone, resolve_normalization
from .mosaic import MosaicModel

__all__ = ["build_model", "parameter_report", "component_of", "frozen_fingerprint"]


def build_model(cfg: Config) -> Tuple[MosaicModel, Normalization]:
    """The model of ``cfg.method`` (backbone weights loaded, frozen parts frozen) and its input normalisation."""
    from ..methods import build_method, get_method

    get_method(cfg.method)  # unknown names fail before the backbone is built
    datasets = resolve_datasets(cfg.datasets)
    build_routing(datasets, cfg.routing)  # validates routing overrides for every method
    # Random init is a function of the seed: a run without backbone weights can be rebuilt exactly
    # (checkpoints hold only trainable tensors).
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        vit = create_backbone(cfg.backbone, cfg.weights, cfg.img_size)
        norm = resolve_normalization(vit, cfg.norm)
        model = build_method(cfg, vit, datasets)
    for name, p in model.named_parameters():
        p.requires_grad_(model.is_trainable_name(name))
    return model, norm


def component_of(name: str) -> str:
    """Which part of the architecture a parameter belongs to (for the parameter report)."""
    if ".mos.specialists." in name:
        return "adapter_" + name.split(".mos.specialists.")[1].split(".")[0]
    if ".mos.experts." in name:
        return "expert_" + name.split(".mos.experts.")[1].split(".")[0]
    if ".mos.router." in name or ".mos.gate." in name:
        return "router"
    if ".lora_" in name:
        return "lora"
    if name.startswith("prompts."):
        return "prompts"
    if name.startswith("tokenizer_3d."):
        return "tokenizer_3d"
    if name.startswith("heads."):
        return "heads"
    if name.startswith(("vit.patch_embed.", "vit.pos_embed", "vit.cls_token", "vit.reg_token")):
        return "tokenizer_2d"
    return "backbone"


def parameter_report(model: nn.Module) -> Dict[str, object]:
    """``{"trainable", "total", "trainable_pct", "components": {name: {"trainable", "total"}}}``."""
    comps: Dict[str, Dict[str, int]] = OrderedDict()
    for name, p in model.named_parameters():
        c = comps.setdefault(component_of(name), {"trainable": 0, "total": 0})
        c["total"] += p.numel()
        c["trainable"] += p.numel() if p.requires_grad else 0
    trainable = sum(c["trainable"] for c in comps.values())
    total = sum(c["total"] for c in comps.values())
    return {"trainable": trainable, "total": total, "trainable_pct": round(100.0 * trainable / total, 3),
            "components": dict(sorted(comps.items()))}


@torch.no_grad()
def frozen_fingerprint(model: nn.Module) -> str:
    """A short digest of the frozen tensors, stored in checkpoints so that evaluation can tell when it has
    rebuilt a different backbone (other weights file, other seed for a random init)."""
    sums = [float(p.detach().double().sum()) for p in model.parameters() if not p.requires_grad]
    return f"{len(sums)}:{sum(sums):.6e}:{sum(abs(s) for s in sums):.6e}"
