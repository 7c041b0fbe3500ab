"""Batched input pipeline: uint8 batch -> resized, augmented, normalised float tensor, on any
device.

All per-sample work happens on whole batches (on the GPU when training there). Augmentation comes
before normalisation; its randomness is drawn from a ``torch.Generator`` the caller owns (and
checkpoints), so a resumed run draws the same augmentations as an uninterrupted one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

__all__ = ["Normalization", "prepare_2d", "prepare_3d"]


@dataclass(frozen=True)
class Normalization:
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]

    @property
    def mean_3d(
        self,
    ) -> float:  # volumes have one channel: the channel average of the 2D statistics
        return sum(self.mean) / 3

    @property
    def std_3d(self) -> float:
        return sum(self.std) / 3


def _draws(gen: torch.Generator, shard: Optional[Tuple[int, int]], b: int):
    """Uniform [0, 1) draws for a batch of ``b``: made for the whole global batch and sliced to
    this process's rows, so a sharded (distributed) batch is augmented exactly as one process
    would augment it."""
    lo, n = shard if shard is not None else (0, b)
    if lo + b > n:
        raise ValueError(f"shard rows {lo}..{lo + b} do not fit a global batch of {n}.")
    return lambda: torch.rand(n, generator=gen)[lo : lo + b]


def _uniform(draw, low: float, high: float) -> torch.Tensor:
    return draw() * (high - low) + low


def _coin(draw) -> torch.Tensor:
    return draw() < 0.5


def prepare_2d(
    images: torch.Tensor,
    img_size: int,
    norm: Normalization,
    *,
    augment: bool = False,
    rotation_deg: float = 15.0,
    generator: Optional[torch.Generator] = None,
    device: Optional[torch.device] = None,
    shard: Optional[Tuple[int, int]] = None,
) -> torch.Tensor:
    """(B, H, W) or (B, H, W, C) uint8 -> (B, 3, img_size, img_size) float, normalised.

    ``shard=(lo, n)``: these B images are rows ``lo:lo+B`` of an ``n``-image global batch
    (distributed training).
    """
    x = images.to(device, non_blocking=True)
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    x = x.float().div(255.0)
    if x.shape[-1] != img_size:
        x = F.interpolate(
            x,
            size=(img_size, img_size),
            mode="bilinear",
            align_corners=False,
            antialias=x.shape[-1] > img_size,
        )
    if augment:
        b = x.shape[0]
        draw = _draws(generator if generator is not None else torch.default_generator, shard, b)
        flip = _coin(draw).to(x.device)
        angle = _uniform(draw, -rotation_deg, rotation_deg) * (math.pi / 180.0)
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        cos, sin = angle.cos(), angle.sin()
        theta = torch.stack(
            [
                torch.stack([cos, -sin, torch.zeros_like(cos)], -1),
                torch.stack([sin, cos, torch.zeros_like(cos)], -1),
            ],
            1,
        ).to(x.device)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    mean = torch.tensor(norm.mean, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(norm.std, device=x.device).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def prepare_3d(
    volumes: torch.Tensor,
    vol_size: int,
    norm: Normalization,
    *,
    augment: bool = False,
    generator: Optional[torch.Generator] = None,
    device: Optional[torch.device] = None,
    jitter: Sequence[float] = (0.1, 0.1),
    rot90: bool = False,
    affine: float = 0.0,
    shard: Optional[Tuple[int, int]] = None,
) -> torch.Tensor:
    """(B, D, H, W) uint8 -> (B, 1, vol_size, vol_size, vol_size) float, normalised (``shard``: as
    in ``prepare_2d``).

    Augmentation: a random flip of each axis, then (``rot90``) a random multiple of 90 degrees in
    the axial (H, W) plane, then (``affine > 0``) a random isotropic zoom in ``[1 - affine, 1 +
    affine]`` and a shift of up to ``affine`` of the side along each axis (trilinear, zero
    outside), then intensity ``x * scale + shift`` with ``scale`` in ``1 +- jitter[0]`` and
    ``shift`` in ``+- jitter[1]``. Options that are off draw nothing, so their absence leaves the
    other draws as they were.
    """
    x = volumes.to(device, non_blocking=True).unsqueeze(1).float().div(255.0)
    if x.shape[-1] != vol_size:
        x = F.interpolate(x, size=(vol_size,) * 3, mode="trilinear", align_corners=False)
    if augment:
        b = x.shape[0]
        draw = _draws(generator if generator is not None else torch.default_generator, shard, b)
        for dim in (2, 3, 4):
            flip = _coin(draw).to(x.device)
            x = torch.where(flip[:, None, None, None, None], x.flip(dim), x)
        scale = _uniform(draw, 1 - jitter[0], 1 + jitter[0]).to(x.device).view(b, 1, 1, 1, 1)
        shift = _uniform(draw, -jitter[1], jitter[1]).to(x.device).view(b, 1, 1, 1, 1)
        if rot90:
            quarter = (draw() * 4).long().clamp_(max=3).to(x.device)
            for k in (1, 2, 3):
                x = torch.where(
                    (quarter == k)[:, None, None, None, None], x.rot90(k, dims=(3, 4)), x
                )
        if affine > 0:
            zoom = _uniform(draw, 1 - affine, 1 + affine)
            # (B, 3): x, y, z
            move = torch.stack([_uniform(draw, -2 * affine, 2 * affine) for _ in range(3)], 1)
            theta = torch.cat(
                [torch.diag_embed((1 / zoom)[:, None].expand(b, 3)), move[:, :, None]], 2
            )
            grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        x = (x * scale + shift).clamp_(0.0, 1.0)
    return ((x - norm.mean_3d) / norm.std_3d).contiguous()
