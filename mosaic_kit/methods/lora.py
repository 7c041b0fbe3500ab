"""LoRA on the attention qkv projection, injected by Hugging Face peft (not hand-written)."""
from __future__ import annotations

from typing import List

from peft import LoraConfig, inject_adapter_in_model
from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..models.mosaic import MosaicModel
from .common import always_trainable, constant_routing, make_model

__all__ = ["build", "lora_config"]


def lora_config(cfg: Config) -> LoraConfig:
    return LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=["qkv"], bias="none")


def build(cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
    """``qkv(x) + (alpha / r) B A x`` in every block; B starts at zero, so the model starts as the backbone."""
    model = make_model(cfg, vit, constant_routing(datasets, "lora"),
                       trainable=lambda n: ".lora_" in n or always_trainable(n))
    inject_adapter_in_model(lora_config(cfg), model.vit)
    return model
