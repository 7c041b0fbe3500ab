"""The 3D half of the modality-aware tokenizer (the 2D half is the backbone's own patch
embedding)."""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["VolumeTokenizer"]


class VolumeTokenizer(nn.Module):
    """Trainable ``Conv3d`` (1 channel, kernel = stride = patch) plus a trainable 3D position
    embedding.

    The position embedding has one row for the CLS token (the backbone's) and one per volume patch,
    ``(vol_size / patch)^3`` of them: 64^3 at patch 8 gives 512 + 1 rows.
    """

    def __init__(self, embed_dim: int, vol_size: int = 64, patch: int = 8) -> None:
        """
        Args:
            embed_dim: Token width (the backbone's).
            vol_size: Side of the (cubic) input volume.
            patch: Kernel size and stride of the Conv3d.
        """
        super().__init__()
        if vol_size % patch:
            raise ValueError(f"vol_size {vol_size} is not a multiple of the 3D patch {patch}.")
        self.vol_size = vol_size
        self.num_patches = (vol_size // patch) ** 3
        self.proj = nn.Conv3d(1, embed_dim, kernel_size=patch, stride=patch)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_patches + 1, embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, x: torch.Tensor, cls_token: torch.Tensor) -> torch.Tensor:
        """(B, 1, V, V, V) -> (B, 1 + N, D) tokens with the CLS token first, position embedding
        added."""
        if x.shape[-3:] != (self.vol_size,) * 3:
            raise ValueError(
                f"Volume tokenizer expects {self.vol_size}^3 inputs, got {tuple(x.shape[-3:])}."
            )
        tokens = self.proj(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        return tokens + self.pos_embed
