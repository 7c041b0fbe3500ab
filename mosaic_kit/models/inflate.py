"""Starting the 3D tokenizer from the backbone's pretrained 2D embedding ("inflation", as I3D did
for CNNs).

- ``inflate`` kernel: the 2D patch kernel ``(D, 3, p, p)`` summed over RGB (a gray image is the same
  value in all three channels), resampled to the 3D kernel's in-plane size ``q`` (block means when
  shrinking) and multiplied by ``(p / q)^2`` so that a constant patch gives the same response, then
  spread evenly over the ``q`` depth slices (divided by ``q``). A volume constant along depth then
  tokenizes as its 2D slice would. This is also the 2.5D tokenizer: on any volume, each token is the
  mean, over the ``q`` axial slices of its depth chunk, of the 2D embedding of each slice, and the
  trainable position rows of each depth chunk are its depth embedding (a 2.5D tokenizer that kept
  every slice's tokens would cost ``q`` times the tokens).
- ``acs`` kernel (axial-coronal-sagittal, after the ACS convolutions of Yang et al., 2021, the
  MedMNIST v2 paper's best 3D baselines): the ``D`` output channels are split into three groups;
  each group takes its channels' 2D kernel in one of the three planes (axial: H x W, coronal: D x W,
  sagittal: D x H) and spreads it evenly along the remaining axis. A volume constant along an axis
  then gives, in that axis's group, the 2D tokens of its slice.
- The bias is copied. Position embedding: the 2D grid resampled (timm's ``resample_abs_pos_embed``)
  to the volume's in-plane grid and repeated along depth; the CLS row is the 2D one (zero where the
  backbone has none).

Volumes are normalised with the channel average of the 2D statistics, so the match is exact up to
the small differences between the three channels' statistics (ImageNet: std 0.229 / 0.224 /
0.225).
"""

from __future__ import annotations

from typing import List

import torch
import torch.nn.functional as F
from timm.layers import resample_abs_pos_embed
from timm.models.vision_transformer import VisionTransformer

from .tokenizer import VolumeTokenizer

__all__ = ["INIT_MODES", "inflate_tokenizer", "acs_groups"]

INIT_MODES = ("inflate", "acs")


def acs_groups(channels: int) -> List[slice]:
    """The axial, coronal and sagittal output-channel groups of an ACS kernel (sizes differ by at
    most one)."""
    sizes = [channels // 3 + (1 if i < channels % 3 else 0) for i in range(3)]
    starts = [0, sizes[0], sizes[0] + sizes[1]]
    return [slice(s, s + n) for s, n in zip(starts, sizes)]


def _spread(plane: torch.Tensor, q: int, axis: int) -> torch.Tensor:
    """A ``(D, 1, q, q)`` plane kernel spread evenly over ``q`` positions along kernel ``axis``
    (2: depth, 3: H, 4: W) of a ``(D, 1, q, q, q)`` kernel; the plane's rows and columns keep
    their order on the other two axes."""
    return (plane / q).unsqueeze(axis).expand(-1, -1, q, q, q)


@torch.no_grad()
def inflate_tokenizer(
    tokenizer: VolumeTokenizer, vit: VisionTransformer, mode: str = "inflate"
) -> VolumeTokenizer:
    """Overwrite ``tokenizer``'s Conv3d and position embedding with ``vit``'s 2D patch embedding,
    inflated (``mode="inflate"``) or split across the three planes (``mode="acs"``)."""
    if mode not in INIT_MODES:
        raise ValueError(f"inflation mode must be one of {', '.join(INIT_MODES)}, got '{mode}'.")
    w2 = vit.patch_embed.proj.weight.float()  # (D, C, p, p)
    if w2.shape[0] != tokenizer.proj.out_channels:
        raise ValueError(
            f"Cannot inflate a {w2.shape[0]}-wide patch embedding into a "
            f"{tokenizer.proj.out_channels}-wide 3D tokenizer."
        )
    p, q = w2.shape[-1], tokenizer.proj.kernel_size[0]
    gray = w2.sum(1, keepdim=True)
    # area averaging when shrinking (exact block means where p is a multiple of q), bilinear when
    # growing
    plane = (
        F.adaptive_avg_pool2d(gray, q)
        if q <= p
        else F.interpolate(gray, size=(q, q), mode="bilinear", align_corners=False)
    ) * (p / q) ** 2
    if mode == "inflate":
        kernel = _spread(plane, q, 2)
    else:  # axial (H, W) spread over depth; coronal (D, W) over H; sagittal (D, H) over W
        kernel = torch.empty_like(tokenizer.proj.weight)
        for group, axis in zip(acs_groups(w2.shape[0]), (2, 3, 4)):
            kernel[group] = _spread(plane[group], q, axis)
    tokenizer.proj.weight.copy_(kernel)
    if tokenizer.proj.bias is not None and vit.patch_embed.proj.bias is not None:
        tokenizer.proj.bias.copy_(vit.patch_embed.proj.bias)
    n = round(tokenizer.num_patches ** (1 / 3))
    prefix = 0 if getattr(vit, "no_embed_class", False) else vit.num_prefix_tokens
    grid = tuple(vit.patch_embed.grid_size)
    pos = resample_abs_pos_embed(
        vit.pos_embed.float(), new_size=[n, n], old_size=list(grid), num_prefix_tokens=prefix
    )
    cls = pos[:, :1] if prefix else torch.zeros_like(pos[:, :1])
    plane_pos = (
        pos[:, prefix:].reshape(1, 1, n * n, -1).expand(1, n, n * n, -1).reshape(1, n**3, -1)
    )
    tokenizer.pos_embed.copy_(torch.cat([cls, plane_pos], dim=1))
    return tokenizer
