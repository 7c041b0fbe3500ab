"""Baselines that add nothing to the backbone and only choose what trains: linear probe, BitFit,
partial, full."""

from __future__ import annotations

from typing import List

from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..config.method_keys import PartialOptions
from ..models.mosaic import MosaicModel
from .base import ALWAYS_TRAINABLE, Method, constant_routing

__all__ = ["Linear", "BitFit", "PartialOptions", "Partial", "Full"]


class Linear(Method):
    """Heads only (plus the 3D tokenizer: volumes have no pretrained embedding to probe)."""

    name, summary = "linear", "linear probe: heads only"

    def build(self, cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
        return self.make_model(cfg, vit, constant_routing(datasets, "backbone"))

    def trainable(self, name: str, model: MosaicModel, cfg: Config) -> bool:
        return name.startswith(ALWAYS_TRAINABLE)


class BitFit(Linear):
    """Every bias of the backbone (BitFit), plus heads and the 3D tokenizer."""

    name, summary = "bitfit", "biases only"

    def trainable(self, name: str, model: MosaicModel, cfg: Config) -> bool:
        return name.startswith(ALWAYS_TRAINABLE) or (
            name.startswith("vit.") and name.endswith(".bias")
        )


class Partial(Linear):
    """The last ``partial_blocks`` blocks and the final norm, plus heads and the 3D tokenizer."""

    name, summary, options = "partial", "last k blocks", PartialOptions

    def build(self, cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
        k = cfg.options(PartialOptions).partial_blocks
        if k > len(vit.blocks):
            raise ValueError(
                f"partial_blocks={k} but {cfg.backbone} has only {len(vit.blocks)} blocks."
            )
        return super().build(cfg, vit, datasets)

    def trainable(self, name: str, model: MosaicModel, cfg: Config) -> bool:
        depth, k = len(model.vit.blocks), cfg.options(PartialOptions).partial_blocks
        prefixes = tuple(f"vit.blocks.{i}." for i in range(depth - k, depth)) + ("vit.norm.",)
        return name.startswith(ALWAYS_TRAINABLE) or name.startswith(prefixes)


class Full(Linear):
    """Everything trains (use a lower learning rate: the ``paper-full`` preset)."""

    name, summary = "full", "full fine-tuning"

    def trainable(self, name: str, model: MosaicModel, cfg: Config) -> bool:
        return True
