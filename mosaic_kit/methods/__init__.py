"""Parameter-efficient methods, each a module behind one interface (``base.Method``).

| name | what trains |
|---|---|
| ``mos`` | MOSAIC: specialists A/B/C (hard routing), 3D tokenizer, heads |
| ``mos-soft`` | the same specialists mixed per sample by a learned softmax router in every layer |
| ``adapter`` | one AdaptFormer adapter shared by all datasets (the joint baseline) |
| ``adapter-dataset`` | one adapter per dataset, in one model |
| ``lora`` | LoRA on the attention qkv projection (Hugging Face peft) |
| ``vpt`` | visual prompts, deep (per layer) or shallow |
| ``gmoe`` | GMoE-Adapter (Med-VTAB): a general and a medical backbone with adapters, gated |
| ``gmoe-shared`` | GMoE on one backbone: "general" and "medical" adapters, a per-token gate |
| ``linear`` | heads only (and the 3D tokenizer, which has no pretrained weights) |
| ``bitfit`` | the backbone's biases |
| ``partial`` | the last ``partial_blocks`` blocks and the final norm |
| ``full`` | everything |

Adding a method: a new module here with a ``Method`` subclass (and, if it has keys of its own, an
``Options`` dataclass), plus one ``register_method`` line below; see docs/methods.md, "Adding a
method"."""

from __future__ import annotations

from typing import Dict, Tuple

import torch

from ..config import Config
from ..data.registry import build_routing, resolve_datasets
from ..data.transforms import Normalization
from ..models.backbone import create_backbone, resolve_normalization
from ..models.mosaic import MosaicModel
from ..models.parameters import parameter_report as _parameter_report
from . import adapters, finetune, gmoe, lora, mos, vpt
from .base import (
    METHODS,
    Method,
    available_methods,
    get_method,
    register_method,
    unregister_method,
    upgrade_method,
    upgrade_names,
)
from .diagnostics import has_mixing, mixing_load, mixing_summary

__all__ = [
    "Method",
    "METHODS",
    "available_methods",
    "get_method",
    "register_method",
    "unregister_method",
    "build_model",
    "parameter_report",
    "upgrade_names",
    "upgrade_method",
    "has_mixing",
    "mixing_load",
    "mixing_summary",
]

register_method(mos.Mos())
register_method(mos.MosSoft())
register_method(adapters.SharedAdapter())
register_method(adapters.PerDatasetAdapters())
register_method(lora.Lora())
register_method(vpt.Vpt())
register_method(gmoe.Gmoe())
register_method(gmoe.GmoeShared())
register_method(finetune.Linear())
register_method(finetune.BitFit())
register_method(finetune.Partial())
register_method(finetune.Full())


def build_model(cfg: Config) -> Tuple[MosaicModel, Normalization]:
    """The model of ``cfg.method`` (backbone weights loaded, the method's tensors trainable, the
    rest frozen) and its input normalisation."""
    method = get_method(cfg.method)  # unknown names fail before the backbone is built
    datasets = resolve_datasets(cfg.datasets)
    build_routing(datasets, cfg.routing)  # validates routing overrides for every method
    # Random init is a function of the seed: a run without backbone weights can be rebuilt exactly
    # (checkpoints hold only trainable tensors).
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        vit = create_backbone(cfg.backbone, cfg.weights, cfg.img_size)
        norm = resolve_normalization(vit, cfg.norm)
        model = method.build(cfg, vit, datasets)
    for name, p in model.named_parameters():
        p.requires_grad_(method.trainable(name, model, cfg))
    return model, norm


def parameter_report(model: MosaicModel) -> Dict[str, object]:
    """Trainable and total parameters, by component (the method names its own parts)."""
    return _parameter_report(model, get_method(model.method).component)
