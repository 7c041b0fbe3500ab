"""LoRA on the attention qkv projection, injected by Hugging Face peft (not hand-written)."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..config.method_keys import LoraOptions
from ..models.mosaic import MosaicModel
from .base import ALWAYS_TRAINABLE, Method, constant_routing

__all__ = ["LoraOptions", "Lora", "peft_config"]

if TYPE_CHECKING:
    from peft import LoraConfig


def peft_config(opts: LoraOptions) -> "LoraConfig":
    from peft import LoraConfig  # imported on use: peft pulls in transformers (~0.5 GB resident)

    return LoraConfig(
        r=opts.lora_rank,
        lora_alpha=opts.lora_alpha,
        lora_dropout=opts.lora_dropout,
        target_modules=["qkv"],
        bias="none",
    )


class Lora(Method):
    """``qkv(x) + (alpha / r) B A x`` in every block; B starts at zero, so the model starts as
    the backbone."""

    name, summary, options = "lora", "LoRA on attention qkv via peft", LoraOptions

    def build(self, cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
        from peft import inject_adapter_in_model

        model = self.make_model(cfg, vit, constant_routing(datasets, "lora"))
        inject_adapter_in_model(peft_config(cfg.options(LoraOptions)), model.vit)
        return model

    def trainable(self, name: str, model: MosaicModel, cfg: Config) -> bool:
        return ".lora_" in name or name.startswith(ALWAYS_TRAINABLE)

    def component(self, name: str) -> Optional[str]:
        return "lora" if ".lora_" in name else None
