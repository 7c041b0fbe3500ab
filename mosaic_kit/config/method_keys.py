"""The configuration keys of the kit's own methods, one options dataclass per method family (the
way a peft tuner owns its config), declared here, below the methods, so that every key and value
is checked before torch is imported. Each method module imports its class from here; a method of
your own declares its options beside it and registers them with ``register_method``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from . import core  # noqa: F401 - Config first: it reserves the shared keys these must not take
from .options import Options, option, register_options

__all__ = [
    "BUILTIN_METHODS",
    "MosOptions",
    "AdapterOptions",
    "LoraOptions",
    "VptOptions",
    "GmoeOptions",
    "PartialOptions",
]

#: The kit's own method names (``method=``), in the order ``methods`` lists them; a test checks
#: them against the registered methods.
BUILTIN_METHODS = (
    "mos",
    "mos-soft",
    "adapter",
    "adapter-dataset",
    "lora",
    "vpt",
    "gmoe",
    "gmoe-shared",
    "linear",
    "bitfit",
    "partial",
    "full",
)


@dataclass
class MosOptions(Options):
    """Bottleneck widths of the three specialists (``mos`` and ``mos-soft``)."""

    bottleneck_a: int = option(64, "bottleneck of specialist A (mos, mos-soft)")
    bottleneck_b: int = option(96, "bottleneck of specialist B (mos, mos-soft)")
    bottleneck_c: int = option(192, "bottleneck of specialist C (mos, mos-soft)")

    def problems(self) -> List[str]:
        return self.check_positive("bottleneck_a", "bottleneck_b", "bottleneck_c")

    def bottlenecks(self) -> Dict[str, int]:
        return {"A": self.bottleneck_a, "B": self.bottleneck_b, "C": self.bottleneck_c}


@dataclass
class AdapterOptions(Options):
    adapter_bottleneck: int = option(
        192, "bottleneck of method=adapter (one shared adapter) and adapter-dataset"
    )
    adapter_widths: Dict[str, int] = option(
        {},
        "adapter-dataset: a bottleneck per dataset, e.g. the width of the "
        "MOSAIC specialist it would be routed to; others use "
        "adapter_bottleneck",
    )

    def problems(self) -> List[str]:
        bad = [
            f"adapter_widths['{name}'] must be > 0 (got {w})"
            for name, w in self.adapter_widths.items()
            if w <= 0
        ]
        return self.check_positive("adapter_bottleneck") + bad


@dataclass
class LoraOptions(Options):
    lora_rank: int = option(8, "LoRA rank r on the attention qkv projection (method=lora)")
    lora_alpha: float = option(16.0, "LoRA alpha (scaling alpha / r)")
    lora_dropout: float = option(0.0, "LoRA dropout")

    def problems(self) -> List[str]:
        out = self.check_positive("lora_rank") + self.check_non_negative(
            "lora_alpha", "lora_dropout"
        )
        return out + (
            [f"lora_dropout must be < 1 (got {self.lora_dropout})"]
            if self.lora_dropout >= 1
            else []
        )


@dataclass
class VptOptions(Options):
    vpt_prompts: int = option(10, "VPT prompt tokens P per layer (method=vpt)")
    vpt_deep: bool = option(
        True, "VPT-deep (new prompts at every layer) or VPT-shallow (prompts at the input only)"
    )

    def problems(self) -> List[str]:
        return self.check_positive("vpt_prompts")


@dataclass
class GmoeOptions(Options):
    gmoe_bottleneck: int = option(64, "bottleneck of each GMoE-Adapter expert (gmoe, gmoe-shared)")
    gmoe_general_weights: Optional[str] = option(
        None,
        "weights of the general expert's backbone (method=gmoe; empty: the run's `weights`)",
        path=True,
    )
    gmoe_medical_weights: Optional[str] = option(
        None,
        "weights of the medical expert's backbone (method=gmoe): a "
        "timm-layout file or timm:ARCH.TAG",
        path=True,
    )
    gmoe_medical_backbone: Optional[str] = option(
        None,
        "timm architecture of the medical backbone, same width as "
        "`backbone` (method=gmoe; empty: `backbone`)",
    )
    gmoe_init_general: Optional[str] = option(
        None, "safetensors of a trained adapter to start the 'general' expert from", path=True
    )
    gmoe_init_medical: Optional[str] = option(
        None, "safetensors of a trained adapter to start the 'medical' expert from", path=True
    )

    def problems(self) -> List[str]:
        return self.check_positive("gmoe_bottleneck")


@dataclass
class PartialOptions(Options):
    partial_blocks: int = option(2, "method=partial: how many of the last blocks train")

    def problems(self) -> List[str]:
        return self.check_positive("partial_blocks")


for _cls in (MosOptions, AdapterOptions, LoraOptions, VptOptions, GmoeOptions, PartialOptions):
    register_options(_cls)
