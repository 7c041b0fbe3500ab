"""Baselines that add nothing to the backbone and only choose what trains: linear probe, BitFit, partial, full."""
from __future__ import annotations

from typing import List

from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..models.mosaic import MosaicModel
from .common import always_trainable, constant_routing, make_model

__all__ = ["build_linear", "build_bitfit", "build_partial", "build_full"]


def build_linear(cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
    """Heads only (plus the 3D tokenizer: volumes have no pretrained embedding to probe)."""
    return make_model(cfg, vit, constant_routing(datasets, "backbone"), trainable=always_trainable)


def build_bitfit(cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
    """Every bias of the backbone (BitFit), plus heads and the 3D tokenizer."""
    return make_model(cfg, vit, constant_routing(datasets, "backbone"),
                      trainable=lambda n: always_trainable(n) or (n.startswith("vit.") and n.endswith(".bias")))


def build_partial(cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
    """The last ``partial_blocks`` blocks and the final norm, plus heads and the 3D tokenizer."""
    depth = len(vit.blocks)
    if cfg.partial_blocks > depth:
        raise ValueError(f"partial_blocks={cfg.partial_blocks} but {cfg.backbone} has only {depth} blocks.")
    prefixes = tuple(f"vit.blocks.{i}." for i in range(depth - cfg.partial_blocks, depth)) + ("vit.norm.",)
    return make_model(cfg, vit, constant_routing(datasets, "backbone"),
                      trainable=lambda n: always_trainable(n) or n.startswith(prefixes))


def build_full(cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
    """Everything trains (use a lower learning rate: the `full` preset)."""
    return make_model(cfg, vit, constant_routing(datasets, "backbone"), trainable=lambda n: True)
