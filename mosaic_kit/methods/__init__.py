"""Parameter-efficient methods, each in its own module behind one interface.

A method turns a headless timm ViT plus the selected datasets into a ``MosaicModel``: it decides what sits
beside each block (``side``), whether visual prompts are inserted, how datasets are routed, and which tensors
train. ``build(cfg, vit, datasets)`` is all the trainer needs.

| name | what trains |
|---|---|
| ``mos`` | MOSAIC: specialists A/B/C (hard routing), 3D tokenizer, heads |
| ``mos-soft`` | the same specialists mixed per sample by a learned softmax router in every layer |
| ``adapter`` | one AdaptFormer adapter shared by all datasets (the joint baseline) |
| ``adapter-dataset`` | one adapter per dataset, in one model |
| ``lora`` | LoRA on the attention qkv projection (Hugging Face peft) |
| ``vpt`` | visual prompts, deep (per layer) or shallow |
| ``gmoe`` | GMoE-Adapter (Med-VTAB): a "general" and a "medical" expert adapter mixed by a per-token gate |
| ``linear`` | heads only (and the 3D tokenizer, which has no pretrained weights) |
| ``bitfit`` | the backbone's biases |
| ``partial`` | the last ``partial_blocks`` blocks and the final norm |
| ``full`` | everything |
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List

from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..models.mosaic import MosaicModel
from . import adapters, finetune, gmoe, lora, mos, vpt

__all__ = ["Method", "METHODS", "available_methods", "build_method", "get_method"]


@dataclass(frozen=True)
class Method:
    name: str
    summary: str
    build: Callable[[Config, VisionTransformer, List[str]], MosaicModel]


METHODS: Dict[str, Method] = {m.name: m for m in [
    Method("mos", "MOSAIC: hard-routed specialists A/B/C", mos.build_hard),
    Method("mos-soft", "specialists A/B/C mixed by a learned softmax router", mos.build_soft),
    Method("adapter", "one adapter shared by all datasets (joint baseline)", adapters.build_shared),
    Method("adapter-dataset", "one adapter per dataset", adapters.build_per_dataset),
    Method("lora", "LoRA on attention qkv via peft", lora.build),
    Method("vpt", "visual prompt tuning (deep or shallow)", vpt.build),
    Method("gmoe", "GMoE-Adapter of Med-VTAB: gated general + medical expert adapters", gmoe.build),
    Method("linear", "linear probe: heads only", finetune.build_linear),
    Method("bitfit", "biases only", finetune.build_bitfit),
    Method("partial", "last k blocks", finetune.build_partial),
    Method("full", "full fine-tuning", finetune.build_full),
]}


def available_methods() -> List[str]:
    return list(METHODS)


def get_method(name: str) -> Method:
    if name not in METHODS:
        import difflib

        close = difflib.get_close_matches(name, METHODS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"Unknown method '{name}'.{hint} Available: {', '.join(METHODS)}.")
    return METHODS[name]


def build_method(cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
    return get_method(cfg.method).build(cfg, vit, datasets)
