"""Single-adapter baselines: one AdaptFormer adapter shared by every dataset, or one per dataset."""
from __future__ import annotations

from typing import List

from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..models.mosaic import MosaicModel
from .common import constant_routing

__all__ = ["build_shared", "build_per_dataset"]


def build_shared(cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
    """The joint baseline: MOSAIC's insertion point and scale, one specialist ``shared`` for all datasets."""
    return MosaicModel(vit, constant_routing(datasets, "shared"), {"shared": cfg.adapter_bottleneck},
                       cfg.adapter_scale, cfg.adapter_input, cfg.vol_size, cfg.patch_3d)


def build_per_dataset(cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
    """Hard routing with one specialist per dataset (named after it), all in one model."""
    return MosaicModel(vit, {d: d for d in datasets}, {d: cfg.adapter_bottleneck for d in datasets},
                       cfg.adapter_scale, cfg.adapter_input, cfg.vol_size, cfg.patch_3d)
