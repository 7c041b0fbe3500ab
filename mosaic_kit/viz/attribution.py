"""Captum attributions for one dataset's classifier inside a MOSAIC model.

``DatasetClassifier`` turns ``model(x, dataset)`` into the ``x -> logits`` function captum expects
(with an optional forced specialist). Two views are offered:

* ``integrated_gradients``: pixel/voxel attributions on the prepared input, with captum's
  convergence delta (IntegratedGradients' completeness: attributions sum to ``f(x) - f(baseline)``).
* ``patch_attributions``: LayerIntegratedGradients on the patch embedding (the backbone's for 2D,
  the trainable Conv3d for 3D), summed over the embedding width: one score per patch token.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn as nn
from captum.attr import IntegratedGradients, LayerIntegratedGradients

from .attention import token_grid

__all__ = ["DatasetClassifier", "integrated_gradients", "patch_attributions", "default_target"]


class DatasetClassifier(nn.Module):
    """``x -> logits`` of ``dataset``'s head, through ``specialist`` (routed one by default,
    ``"none"`` = bare)."""

    def __init__(self, model: nn.Module, dataset: str, specialist: Optional[str] = None) -> None:
        super().__init__()
        model.resolve_specialist(dataset, specialist)  # unknown datasets fail here
        self.model, self.dataset, self.specialist = model, dataset, specialist
        self.is_3d = model.infos[dataset].is_3d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, self.dataset, self.specialist)


def default_target(f: DatasetClassifier, x: torch.Tensor) -> torch.Tensor:
    """The predicted class (or, for multi-label, the most probable label) of each sample."""
    with torch.no_grad():
        return f(x).argmax(-1)


def integrated_gradients(
    model: nn.Module,
    dataset: str,
    x: torch.Tensor,
    target: Optional[torch.Tensor] = None,
    specialist: Optional[str] = None,
    steps: int = 32,
    baseline: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """(attributions shaped like ``x``, convergence delta per sample) for ``target`` (default:
    predicted).

    The baseline defaults to zeros, i.e. the dataset mean after normalisation.
    """
    f = DatasetClassifier(model, dataset, specialist).eval()
    target = default_target(f, x) if target is None else target
    attr, delta = IntegratedGradients(f).attribute(
        x,
        baselines=torch.zeros_like(x) if baseline is None else baseline,
        target=target,
        n_steps=steps,
        internal_batch_size=max(1, x.shape[0]) * steps,
        return_convergence_delta=True,
    )
    return attr.detach(), delta.detach()


def patch_attributions(
    model: nn.Module,
    dataset: str,
    x: torch.Tensor,
    target: Optional[torch.Tensor] = None,
    specialist: Optional[str] = None,
    steps: int = 32,
) -> torch.Tensor:
    """LayerIntegratedGradients on the patch embedding, one value per patch: ``(B, h, w)`` or
    ``(B, d, h, w)``."""
    f = DatasetClassifier(model, dataset, specialist).eval()
    target = default_target(f, x) if target is None else target
    layer = model.tokenizer_3d.proj if f.is_3d else model.vit.patch_embed
    attr = LayerIntegratedGradients(f, layer).attribute(
        x,
        baselines=torch.zeros_like(x),
        target=target,
        n_steps=steps,
        internal_batch_size=max(1, x.shape[0]) * steps,
    )
    grid = token_grid(model, f.is_3d)
    if f.is_3d:  # Conv3d output (B, D, d, h, w)
        return attr.sum(1).detach()
    return attr.sum(-1).reshape(x.shape[0], *grid).detach()  # timm PatchEmbed output (B, N, D)
