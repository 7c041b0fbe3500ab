"""Speed switches of a built model (each measured in ``benchmarks/perf.py``).

Fused attention (timm's default) stays on unless asked otherwise; the attention recorder of the
notebooks turns it off only while it records. ``torch.compile`` compiles every transformer block
in place (state-dict keys are unchanged); a block is called with a specialist name, so each
specialist and each token count (2D / 3D) gets its own graph, and the recompile limit is raised
to fit them.
"""

from __future__ import annotations

import torch

from .mosaic import MosaicModel

__all__ = ["apply_speed"]


def _raise_recompile_limit(n: int) -> None:
    cfg = torch._dynamo.config
    for key in ("recompile_limit", "cache_size_limit"):  # the name changed across torch releases
        if hasattr(cfg, key):
            setattr(cfg, key, max(getattr(cfg, key), n))
            return


def apply_speed(
    model: MosaicModel,
    *,
    fused_attn: bool = True,
    compile: bool = False,  # noqa: A002
    channels_last: bool = False,
    grad_checkpointing: bool = False,
) -> MosaicModel:
    """Set the speed switches of ``model`` in place and return it."""
    for blk in model.vit.blocks:
        if hasattr(blk.attn, "fused_attn"):
            blk.attn.fused_attn = fused_attn
    model.set_channels_last(channels_last)
    model.set_grad_checkpointing(grad_checkpointing)
    if compile:
        graphs = 2 * (len(set(model.routing.values())) + 1)  # (specialists + bare) x (2D, 3D)
        _raise_recompile_limit(max(16, graphs * len(model.vit.blocks)))
        for blk in model.vit.blocks:
            blk.compile(dynamic=False)
    return model
