"""Visual Prompt Tuning (Jia et al., 2022): P learnable tokens between CLS and the patch tokens."""

from __future__ import annotations

from typing import List, Optional

import torch
import torch.nn as nn
from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..config.method_keys import VptOptions
from ..models.mosaic import MosaicModel
from .base import Method, constant_routing

__all__ = ["VptOptions", "VisualPrompts", "Vpt"]


class VisualPrompts(nn.Module):
    """VPT-deep: layer ``i`` sees its own P prompts (the previous layer's prompt outputs are
    dropped). VPT-shallow: P prompts are inserted before the first layer and carried through.
    Prompts are removed from the output, so the token layout after the last block is the
    backbone's."""

    def __init__(self, depth: int, n_prompts: int, dim: int, deep: bool = True) -> None:
        super().__init__()
        self.n_prompts, self.deep = n_prompts, deep
        self.tokens = nn.Parameter(torch.empty(depth if deep else 1, n_prompts, dim))
        nn.init.trunc_normal_(self.tokens, std=0.02)

    def run(
        self, blocks: nn.Sequential, x: torch.Tensor, specialist: Optional[str]
    ) -> torch.Tensor:
        if specialist is None:  # the bare backbone
            for blk in blocks:
                x = blk(x, None)
            return x
        b, p = x.shape[0], self.n_prompts
        for i, blk in enumerate(blocks):
            if i == 0:
                x = torch.cat([x[:, :1], self.tokens[0].expand(b, -1, -1).to(x.dtype), x[:, 1:]], 1)
            elif self.deep:
                x = torch.cat(
                    [x[:, :1], self.tokens[i].expand(b, -1, -1).to(x.dtype), x[:, 1 + p :]], 1
                )
            x = blk(x, specialist)
        return torch.cat([x[:, :1], x[:, 1 + p :]], 1)


class Vpt(Method):
    name, summary, options = "vpt", "visual prompt tuning (deep or shallow)", VptOptions

    def build(self, cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
        opts = cfg.options(VptOptions)
        prompts = VisualPrompts(len(vit.blocks), opts.vpt_prompts, vit.embed_dim, opts.vpt_deep)
        return self.make_model(cfg, vit, constant_routing(datasets, "vpt"), prompts=prompts)
