"""A timm ViT block with a method's side module running parallel to its MLP."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from timm.models.vision_transformer import Block

__all__ = ["SideBlock"]


class SideBlock(nn.Module):
    """``x = x + attn(norm1(x)); x = x + mlp(norm2(x)) + side(x | norm2(x), specialist)``.

    Built from an existing timm ``Block``, whose parts it adopts under the same attribute names,
    so the backbone's state-dict keys (``blocks.{i}.attn.qkv.weight``, ...) are unchanged. The
    side module sits under the name its method gives it (``slot``: ``mos`` for MOSAIC's
    specialists, ``adapter``, ``gmoe``, ...), so its tensors are named for what they are
    (``blocks.{i}.mos.specialists.A.up.weight``); ``side`` reaches it whatever the name.
    """

    def __init__(
        self,
        block: Block,
        side: Optional[nn.Module] = None,
        slot: Optional[str] = None,
        adapter_input: str = "residual",
    ) -> None:
        """
        Args:
            block: The timm block to wrap (pre-norm ``Block``).
            side: The side module of this layer, called as ``side(x, specialist)``, or None for a
                plain block.
            slot: Attribute name of the side module (required with ``side``).
            adapter_input: ``"residual"`` (AdaptFormer: the side module reads the stream after
                attention) or ``"norm"`` (the public MOSAIC code: it reads ``norm2(x)``).
        """
        super().__init__()
        if adapter_input not in ("residual", "norm"):
            raise ValueError(f"adapter_input must be 'residual' or 'norm', got '{adapter_input}'.")
        if side is not None and (not slot or hasattr(self, slot) or hasattr(block, slot)):
            raise ValueError(f"A side module needs a free attribute name as slot, got {slot!r}.")
        for name in ("norm1", "attn", "ls1", "drop_path1", "norm2", "mlp", "ls2", "drop_path2"):
            setattr(self, name, getattr(block, name))
        self.slot = slot if side is not None else None
        if side is not None:
            self.add_module(slot, side)
        self.adapter_input = adapter_input

    @property
    def side(self) -> Optional[nn.Module]:
        return self._modules[self.slot] if self.slot else None

    def forward(self, x: torch.Tensor, specialist: Optional[str] = None) -> torch.Tensor:
        x = x + self.drop_path1(self.ls1(self.attn(self.norm1(x))))
        h = self.norm2(x)
        out = x + self.drop_path2(self.ls2(self.mlp(h)))
        if specialist is not None and self.slot is not None:
            out = out + self._modules[self.slot](
                x if self.adapter_input == "residual" else h, specialist
            )
        return out
