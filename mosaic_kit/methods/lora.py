"""LoRA on the attention qkv projection, injected by Hugging Face peft (not hand-written)."""
from __future__ import annotations

from typing import TYPE_CHECKING, List

from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..models.mosaic import MosaicModel
from .common import always_trainable, constant_routing, make_model

__all__ = ["build", "lora_config"]

if TYPE_CHECKING:
    from peft import LoraConfig


def lora_config(cfg: Config) -> "LoraConfig":
    from peft import LoraConfig  # imported on use: peft pulls in transformers (~0.5 GB resident)

    return LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=["qkv"], bias="none")


def build(cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
    """``qkv(x) + (alpha / r) B A x`` in every block; B starts at zero, so the model starts as the backbone."""
    from peft import inject_adapter_in_model

    model = make_model(cfg, vit, constant_routing(datasets, "lora"),
                       trainable=lambda n: ".lora_" in n or always_trainable(n))
    inject_adapter_in_model(lora_config(cfg), model.vit)
    return model
