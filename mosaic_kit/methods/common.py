"""Helpers shared by the method modules."""
from __future__ import annotations

from typing import Callable, Dict, List, Optional

from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..models.mosaic import MosaicModel

#: Tensors every method trains: the per-dataset heads, and the 3D tokenizer (it has no pretrained weights).
ALWAYS = ("heads.", "tokenizer_3d.")


def always_trainable(name: str) -> bool:
    return name.startswith(ALWAYS)


def make_model(cfg: Config, vit: VisionTransformer, routing: Dict[str, str], *, side=None, prompts=None,
               trainable: Optional[Callable[[str], bool]] = None, hard_routing: bool = False) -> MosaicModel:
    return MosaicModel(vit, routing, None, cfg.adapter_scale, cfg.adapter_input, cfg.vol_size, cfg.patch_3d,
                       side=side, prompts=prompts, trainable=trainable, hard_routing=hard_routing)


def constant_routing(datasets: List[str], name: str) -> Dict[str, str]:
    return {d: name for d in datasets}
