"""Recorded self-attention and attention rollout (Abnar & Zuidema, 2020) for MOSAIC models.

Fused scaled-dot-product attention never materialises the attention matrix, so
``AttentionRecorder`` switches timm's ``fused_attn`` flag off while it is active and hooks
``attn_drop``, whose input is the softmaxed attention. Training keeps the fused path; only the
notebooks that look at attention pay for recording.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "AttentionRecorder",
    "attention_rollout",
    "cls_attention_map",
    "token_grid",
    "rollout_map",
]


class AttentionRecorder:
    """Context manager that records the attention probabilities of every block of ``model.vit``.

    >>> with AttentionRecorder(model) as rec:
    ...     model(x, "breastmnist")
    >>> len(rec.attentions), rec.attentions[0].shape   # (depth, (B, heads, N, N))

    On exit the hooks are removed and each block's ``fused_attn`` flag is restored: the model is
    left as it was found.
    """

    def __init__(self, model: nn.Module) -> None:
        vit = getattr(model, "vit", model)
        self.attns = [blk.attn for blk in vit.blocks]
        if not all(hasattr(a, "fused_attn") and hasattr(a, "attn_drop") for a in self.attns):
            raise TypeError(
                "AttentionRecorder needs timm Attention modules (with fused_attn and attn_drop)."
            )
        self.attentions: List[torch.Tensor] = []
        self._handles: list = []
        self._fused: List[bool] = []

    def _hook(
        self, module: nn.Module, args: Tuple[torch.Tensor, ...], output: torch.Tensor
    ) -> None:
        self.attentions.append(args[0].detach().float())

    def clear(self) -> None:
        self.attentions = []

    def __enter__(self) -> "AttentionRecorder":
        self.clear()
        self._fused = [a.fused_attn for a in self.attns]
        for a in self.attns:
            a.fused_attn = False
            self._handles.append(a.attn_drop.register_forward_hook(self._hook))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        for a, fused in zip(self.attns, self._fused):
            a.fused_attn = fused


def attention_rollout(
    attentions: Sequence[torch.Tensor], residual: float = 0.5, head_fusion: str = "mean"
) -> torch.Tensor:
    """Roll attention out through the layers: ``R = Â_L ... Â_1`` with ``Â = r I + (1 - r) A``
    row-normalised.

    Args:
        attentions: Per-layer ``(B, heads, N, N)`` attention probabilities, first layer first.
        residual: Weight ``r`` of the identity that stands for the residual connection.
        head_fusion: ``"mean"``, ``"max"`` or ``"min"`` over heads.

    Returns:
        ``(B, N, N)``; every row is a distribution over input tokens (sums to 1).
    """
    if not attentions:
        raise ValueError(
            "No attention recorded: run a forward pass inside AttentionRecorder first."
        )
    fuse = {"mean": lambda a: a.mean(1), "max": lambda a: a.amax(1), "min": lambda a: a.amin(1)}
    if head_fusion not in fuse:
        raise ValueError(f"head_fusion must be one of {sorted(fuse)}, got '{head_fusion}'.")
    n = attentions[0].shape[-1]
    eye = torch.eye(n, dtype=attentions[0].dtype, device=attentions[0].device)
    out = eye.expand(attentions[0].shape[0], n, n)
    for a in attentions:
        a = residual * eye + (1.0 - residual) * fuse[head_fusion](a)
        out = (a / a.sum(-1, keepdim=True)) @ out
    return out


def token_grid(model: nn.Module, is_3d: bool) -> Tuple[int, ...]:
    """Spatial layout of the patch tokens: ``(h, w)`` for 2D, ``(d, h, w)`` for 3D."""
    if is_3d:
        side = round(model.tokenizer_3d.num_patches ** (1 / 3))
        return (side, side, side)
    return tuple(model.vit.patch_embed.grid_size)


def cls_attention_map(
    rollout: torch.Tensor, grid: Tuple[int, ...], num_prefix: int = 1
) -> torch.Tensor:
    """The CLS row of a rollout over the patch tokens, reshaped to ``grid`` and scaled to [0, 1]
    per sample."""
    m = rollout[:, 0, num_prefix:]
    if m.shape[1] != int(torch.tensor(grid).prod()):
        raise ValueError(f"{m.shape[1]} patch tokens do not fill a grid of {grid}.")
    m = m.reshape(m.shape[0], *grid)
    flat = m.flatten(1)
    lo, hi = flat.min(1).values, flat.max(1).values
    scale = (hi - lo).clamp_min(1e-12)
    return (m - lo.view(-1, *[1] * len(grid))) / scale.view(-1, *[1] * len(grid))


def rollout_map(
    model: nn.Module,
    x: torch.Tensor,
    dataset: str,
    specialist: Optional[str] = None,
    out_size: Optional[int] = None,
    residual: float = 0.5,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """(logits, map) for a prepared batch: the CLS attention rollout upsampled to the input's size.

    ``specialist`` forces another specialist than the routed one (``"none"`` = the bare backbone).
    Maps are ``(B, H, W)`` for 2D and ``(B, D, H, W)`` for 3D, in [0, 1].
    """
    is_3d = model.infos[dataset].is_3d
    spec = model.resolve_specialist(dataset, specialist)
    was_training = model.training
    model.eval()
    with torch.no_grad(), AttentionRecorder(model) as rec:
        logits = model(x, dataset, specialist)
    model.train(was_training)
    prefix = 1 if is_3d else model.vit.num_prefix_tokens
    if getattr(model, "prompts", None) is not None and spec is not None:
        prefix += model.prompts.n_prompts  # VPT prompts sit between CLS and the patch tokens
    m = cls_attention_map(attention_rollout(rec.attentions), token_grid(model, is_3d), prefix)
    size = out_size or x.shape[-1]
    m = F.interpolate(
        m.unsqueeze(1),
        size=(size,) * (3 if is_3d else 2),
        mode="trilinear" if is_3d else "bilinear",
        align_corners=False,
    ).squeeze(1)
    return logits, m.clamp(0, 1)
