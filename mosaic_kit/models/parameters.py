"""Parameter bookkeeping of a built model: counts by component, and a fingerprint of the frozen
tensors."""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Dict, Optional

import torch
import torch.nn as nn

__all__ = ["base_component", "parameter_report", "frozen_fingerprint"]


def base_component(name: str) -> str:
    """The part of the architecture every model has that a parameter belongs to: tokenizers,
    heads, backbone."""
    if name.startswith("tokenizer_3d."):
        return "tokenizer_3d"
    if name.startswith("heads."):
        return "heads"
    if name.startswith(("vit.patch_embed.", "vit.pos_embed", "vit.cls_token", "vit.reg_token")):
        return "tokenizer_2d"
    return "backbone"


def parameter_report(
    model: nn.Module, component: Optional[Callable[[str], Optional[str]]] = None
) -> Dict[str, object]:
    """``{"trainable", "total", "trainable_pct", "components": {name: {"trainable", "total"}}}``.

    ``component(name)`` names the parts a method adds (``adapter_A``, ``router``, ``lora``, ...)
    and returns None for the rest, which ``base_component`` names.
    """
    comps: Dict[str, Dict[str, int]] = OrderedDict()
    for name, p in model.named_parameters():
        c = comps.setdefault(
            (component(name) if component else None) or base_component(name),
            {"trainable": 0, "total": 0},
        )
        c["total"] += p.numel()
        c["trainable"] += p.numel() if p.requires_grad else 0
    trainable = sum(c["trainable"] for c in comps.values())
    total = sum(c["total"] for c in comps.values())
    return {
        "trainable": trainable,
        "total": total,
        "trainable_pct": round(100.0 * trainable / total, 3),
        "components": dict(sorted(comps.items())),
    }


@torch.no_grad()
def frozen_fingerprint(model: nn.Module) -> str:
    """A short digest of the frozen tensors, stored in checkpoints so that evaluation can tell
    when it has rebuilt a different backbone (other weights file, other seed for a random init)."""
    sums = [float(p.detach().double().sum()) for p in model.parameters() if not p.requires_grad]
    return f"{len(sums)}:{sum(sums):.6e}:{sum(abs(s) for s in sums):.6e}"
