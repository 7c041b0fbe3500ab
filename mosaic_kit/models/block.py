"""A timm ViT block with a Mixture-of-Specialists adapter running parallel to its MLP."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from timm.models.vision_transformer import Block


__all__ = ["MosBlock"]


class MosBlock(nn.Module):
    """``x = x + attn(norm1(x)); x = x + mlp(norm2(x)) + mos(x | norm2(x), specialist)``.

    Built from an existing timm ``Block``, whose parts it adopts under the same attribute names, so the
    backbone's state-dict keys (``blocks.{i}.attn.qkv.weight``, ...) are unchanged.
    """

    def __init__(self, block: Block, mos: Optional[nn.Module], adapter_input: str = "residual") -> None:
        """
        Args:
            block: The timm block to wrap (pre-norm ``Block``).
            mos: The side module of this layer, called as ``mos(x, specialist)`` (MOSAIC's specialists, a soft
                mixture, a gated MoE adapter, a shared adapter), or None for a plain block.
            adapter_input: ``"residual"`` (AdaptFormer: the adapter reads the stream after attention) or
                ``"norm"`` (the public MOSAIC code: it reads ``norm2(x)``).
        """
        super().__init__()
        if adapter_input not in ("residual", "norm"):
            raise ValueError(f"adapter_input must be 'residual' or 'norm', got '{adapter_input}'.")
        for name in ("norm1", "attn", "ls1", "drop_path1", "norm2", "mlp", "ls2", "drop_path2"):
            setattr(self, name, getattr(block, name))
        self.mos = mos
        self.adapter_input = adapter_input

    def forward(self, x: torch.Tensor, specialist: Optional[str] = None) -> torch.Tensor:
        x = x + self.drop_path1(self.ls1(self.attn(self.norm1(x))))
        h = self.norm2(x)
        out = x + self.drop_path2(self.ls2(self.mlp(h)))
        if specialist is not None and self.mos is not None:
            out = out + self.mos(x if self.adapter_input == "residual" else h, specialist)
        return out
