"""Building blocks of MosaicModel: the frozen backbone wrapped with side blocks, the 3D
tokenizer, tokenizing and running the blocks, a frozen copy."""

from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn as nn
from timm.models.vision_transformer import VisionTransformer
from torch.utils.checkpoint import checkpoint

from .inflate import INIT_MODES, inflate_tokenizer
from .side_block import SideBlock
from .tokenizer import VolumeTokenizer

__all__ = [
    "freeze_and_wrap",
    "volume_tokenizer",
    "tokenize_with",
    "run_blocks",
]


def freeze_and_wrap(
    vit: VisionTransformer,
    side: Optional[Callable[[int], nn.Module]],
    slot: Optional[str],
    adapter_input: str,
) -> VisionTransformer:
    """Freeze ``vit`` and wrap each block as a ``SideBlock`` carrying a new ``side(dim)`` module
    (if any)."""
    vit.requires_grad_(False)
    vit.blocks = nn.Sequential(
        *[
            SideBlock(blk, side(vit.embed_dim) if side else None, slot, adapter_input)
            for blk in vit.blocks
        ]
    )
    return vit


def volume_tokenizer(
    vit: VisionTransformer, vol_size: int, patch_3d: int, init: str = "random"
) -> VolumeTokenizer:
    """A 3D tokenizer in ``vit``'s width: random, or started from ``vit``'s 2D embedding
    (``init="inflate"`` or ``"acs"``, see ``models.inflate``)."""
    if init not in ("random",) + INIT_MODES:
        raise ValueError(
            f"tokenizer_3d_init must be one of random, {', '.join(INIT_MODES)}; got '{init}'."
        )
    tok = VolumeTokenizer(vit.embed_dim, vol_size, patch_3d)
    return inflate_tokenizer(tok, vit, init) if init != "random" else tok


def tokenize_with(
    vit: VisionTransformer,
    tokenizer_3d: Optional[VolumeTokenizer],
    x: torch.Tensor,
    is_3d: bool,
    channels_last: bool = False,
) -> torch.Tensor:
    """Tokens of a batch: volumes through ``tokenizer_3d`` (with ``vit``'s CLS token), images
    through ``vit``'s own patch and position embedding."""
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d if is_3d else torch.channels_last)
    if is_3d:
        if tokenizer_3d is None:
            raise ValueError("This model serves no 3D dataset, so it has no 3D tokenizer.")
        x = tokenizer_3d(x, vit.cls_token)
    else:
        x = vit._pos_embed(vit.patch_embed(x))
    return vit.norm_pre(vit.patch_drop(x))


def run_blocks(
    vit: VisionTransformer, x: torch.Tensor, specialist: Optional[str], checkpointing: bool = False
) -> torch.Tensor:
    """``vit``'s (side-module) blocks over a token sequence; ``checkpointing`` recomputes
    activations in backward."""
    for blk in vit.blocks:
        x = (
            checkpoint(blk, x, specialist, use_reentrant=False)
            if checkpointing
            else blk(x, specialist)
        )
    return x
