"""Two frozen ViTs side by side, each with its own side modules, mixed per sample by a gate
before the heads."""

from __future__ import annotations

from typing import Callable, Mapping, Optional, Set

import torch
import torch.nn as nn
from timm.models.vision_transformer import VisionTransformer

from .mosaic import MosaicModel, freeze_and_wrap, run_blocks, tokenize_with, volume_tokenizer
from .tokenizer import VolumeTokenizer

__all__ = ["Branch", "DualBackboneModel", "FeatureGate"]


class FeatureGate(nn.Module):
    """Per-sample softmax weights over ``names`` from the concatenated CLS features of the experts.

    Starts at zero, an even mix. ``mixing_weights`` keeps the latest ``(B, K)`` weights,
    ``mixing_names`` the experts' names (what ``methods.diagnostics`` reads).
    """

    def __init__(self, dim: int, names: tuple = ("general", "medical")) -> None:
        super().__init__()
        self.proj = nn.Linear(dim * len(names), len(names))
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        self.mixing_names = list(names)
        self.mixing_weights: Optional[torch.Tensor] = None

    def forward(self, *features: torch.Tensor) -> torch.Tensor:
        w = self.proj(torch.cat(features, dim=-1)).softmax(-1)
        self.mixing_weights = w.detach()
        return w


class Branch(nn.Module):
    """The second expert: a frozen ViT whose blocks carry side modules, and its own 3D tokenizer."""

    def __init__(self, vit: VisionTransformer, tokenizer_3d: Optional[VolumeTokenizer]) -> None:
        super().__init__()
        self.vit = vit
        self.tokenizer_3d = tokenizer_3d


class DualBackboneModel(MosaicModel):
    """A ``MosaicModel`` whose features come from two frozen backbones, the "general" one (``vit``,
    as in every model of the kit) and a second one (``medical.vit``), each with its own side module
    in every block and its own 3D tokenizer. Per sample, a ``FeatureGate`` computed from both CLS
    features weighs the two final token sequences; the mix goes to the dataset's head: ``f = a_g *
    f_g + a_m * f_m``.

    Both backbones must have the same width and token grid (patch size at the same ``img_size``);
    their depths may differ. Costs two backbone passes per batch.
    """

    def __init__(
        self,
        general: VisionTransformer,
        medical: VisionTransformer,
        routing: Mapping[str, str],
        *,
        side: Callable[[int], nn.Module],
        slot: str,
        adapter_input: str = "residual",
        vol_size: int = 64,
        patch_3d: int = 8,
        method: str = "",
        tokenizer_3d_init: str = "random",
    ) -> None:
        """
        Args:
            general: Headless timm ViT of the first expert (frozen here).
            medical: Headless timm ViT of the second expert, same width and patch grid (frozen
                here).
            routing: Dataset name -> specialist name, passed to every side module.
            side: Factory ``dim -> module`` of the side module in every block of both backbones.
            slot: Attribute name of the side modules.
            adapter_input, vol_size, patch_3d, method, tokenizer_3d_init: As for ``MosaicModel`` (an
            inflated 3D
                tokenizer starts from its own backbone's 2D embedding).
        """
        if general.embed_dim != medical.embed_dim:
            raise ValueError(
                f"The two backbones must have the same width: {general.embed_dim} vs "
                f"{medical.embed_dim}. Pick two ViTs of one width (e.g. two ViT-B/16)."
            )
        grids = tuple(general.patch_embed.grid_size), tuple(medical.patch_embed.grid_size)
        if grids[0] != grids[1] or general.num_prefix_tokens != medical.num_prefix_tokens:
            raise ValueError(
                f"The two backbones must cut images into the same token grid: {grids[0]} vs "
                f"{grids[1]} patches ({general.num_prefix_tokens} vs {medical.num_prefix_tokens} "
                "prefix tokens). Use the same patch size and no register tokens in both."
            )
        super().__init__(
            general,
            routing,
            side=side,
            slot=slot,
            adapter_input=adapter_input,
            vol_size=vol_size,
            patch_3d=patch_3d,
            method=method,
            tokenizer_3d_init=tokenizer_3d_init,
        )
        has_3d = self.tokenizer_3d is not None
        tok = volume_tokenizer(medical, vol_size, patch_3d, tokenizer_3d_init) if has_3d else None
        self.medical = Branch(freeze_and_wrap(medical, side, slot, adapter_input), tok)
        self.gate = FeatureGate(self.embed_dim)

    def no_weight_decay(self) -> Set[str]:
        names = super().no_weight_decay() | {
            f"medical.vit.{n}" for n in self.medical.vit.no_weight_decay()
        }
        return names | (
            {"medical.tokenizer_3d.pos_embed"} if self.medical.tokenizer_3d is not None else set()
        )

    def side_modules(self):
        return super().side_modules() + [
            (f"medical.vit.blocks.{i}.{b.slot}.", b.side)
            for i, b in enumerate(self.medical.vit.blocks)
        ]

    def set_channels_last(self, enable: bool = True) -> None:
        super().set_channels_last(enable)
        fmt = torch.channels_last if enable else torch.contiguous_format
        self.medical.vit.patch_embed.to(memory_format=fmt)
        if self.medical.tokenizer_3d is not None:
            self.medical.tokenizer_3d.to(
                memory_format=torch.channels_last_3d if enable else torch.contiguous_format
            )

    def encode_experts(self, x: torch.Tensor, specialist: Optional[str], is_3d: bool):
        """Final-norm token sequences of the general and the medical backbone, each with its side
        modules."""
        ckpt = self.grad_checkpointing and torch.is_grad_enabled()
        out = []
        for vit, tok in (
            (self.vit, self.tokenizer_3d),
            (self.medical.vit, self.medical.tokenizer_3d),
        ):
            t = tokenize_with(vit, tok, x, is_3d, self.channels_last)
            out.append(vit.norm(run_blocks(vit, t, specialist, ckpt)))
        return out

    def encode(self, x: torch.Tensor, specialist: Optional[str], is_3d: bool) -> torch.Tensor:
        """The gate-weighted mix of the two experts' token sequences (its CLS row is what the
        head reads)."""
        g, m = self.encode_experts(x, specialist, is_3d)
        w = self.gate(g[:, 0], m[:, 0])
        return w[:, 0, None, None] * g + w[:, 1, None, None] * m
