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
    """The MOSAIC model for ``cfg`` (backbone weights loaded, frozen parts frozen) and its input normalisation."""
    if cfg.method != "mos":
        raise ValueError(f"Unknown method '{cfg.method}'. Available: mos.")
    datasets = resolve_datasets(cfg.datasets)
    routing = build_routing(datasets, cfg.routing)
    # Random init is a function of the seed: a run without backbone weights can be rebuilt exactly
    # (checkpoints hold only trainable tensors).
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        vit = create_backbone(cfg.backbone, cfg.weights, cfg.img_size)
        norm = resolve_normalization(vit, cfg.norm)
        model = MosaicModel(vit, routing, {"A": cfg.bottleneck_a, "B": cfg.bottleneck_b, "C": cfg.bottleneck_c},
                            adapter_scale=cfg.adapter_scale, adapter_input=cfg.adapter_input,
                            vol_size=cfg.vol_size, patch_3d=cfg.patch_3d)
    for name, p in model.named_parameters():
        p.requires_grad_(model.is_trainable_name(name))
    return model, norm


def component_of(name: str) -> str:
    """Which part of the architecture a parameter belongs to (for the parameter report)."""
    if ".mos.specialists." in name:
        return "adapter_" + name.split(".mos.specialists.")[1].split(".")[0]
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
