"""An embedded synthetic MedMNIST: all 18 names, official npz layout, small and learnable.

Each dataset keeps its real task, channel count and class count (from ``medmnist.INFO``); the images
are drawn so that the class is visible, in the style the routing expects of the modality:

* specialist A (RGB texture sets): the class sets a grating's orientation and frequency and a colour
  tint;
* specialist B (grayscale radiology): the class sets the orientation of a bright rod at a random
  place (binary: a round blob or a rod; multi-label: one rod per positive label);
* specialist C (3D volumes): the same in 3D, rods oriented along well-spread axes.

Noise, random phase, contrast, length and position keep it from being trivial. Generation is
deterministic in the seed and takes about a second for all 18 datasets at size 28.
"""

from __future__ import annotations

import math
import os
import zlib
from pathlib import Path
from typing import Dict, Iterable, Optional

import numpy as np

from .files import MARKER, default_cache_dir
from .registry import ALL_DATASETS, DEFAULT_ROUTING, DatasetInfo, get_info

__all__ = ["SPLIT_SIZES", "make_dataset", "write_suite", "ensure_suite"]

SPLIT_SIZES: Dict[str, int] = {"train": 320, "val": 64, "test": 128}
SUITE_VERSION = 5  # 5: files carry the MARKER array


def _rng(seed: int, name: str, split: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode()), zlib.crc32(split.encode())])


def _labels(info: DatasetInfo, n: int, rng: np.random.Generator) -> np.ndarray:
    if info.is_multilabel:
        return (rng.random((n, info.n_classes)) < 0.25).astype(np.uint8)
    return rng.integers(0, info.n_classes, size=(n, 1)).astype(np.uint8)


def _texture(info: DatasetInfo, y: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Bio-medical-like textures: the class sets a grating's orientation and frequency and a
    colour tint."""
    n, k = len(y), info.n_classes
    cls = y[:, 0].astype(np.float64)
    theta = (cls * math.pi / k + rng.normal(0, 0.08, n))[:, None, None]
    freq = (3.0 + 1.5 * (cls % 3))[:, None, None]
    phase = rng.uniform(0, 2 * math.pi, (n, 1, 1))
    v, u = np.meshgrid(np.linspace(0, 1, size), np.linspace(0, 1, size), indexing="ij")
    wave = np.sin(2 * math.pi * freq * (u * np.cos(theta) + v * np.sin(theta)) + phase)
    contrast = rng.uniform(0.15, 0.3, (n, 1, 1))
    base = 0.5 + contrast * wave + rng.normal(0, 0.12, (n, size, size))
    if info.n_channels == 1:
        return base
    hue = cls[:, None] / k * 2 * math.pi + np.array([0.0, 2.1, 4.2])[None]
    tint = 0.12 * np.cos(hue) + rng.normal(0, 0.03, (n, 3))
    return base[..., None] + tint[:, None, None, :]


def _directions(k: int, dims: int) -> np.ndarray:
    """k well-spread unit axes: angles pi*j/k in 2D, a Fibonacci half-sphere in 3D. (k, dims)"""
    j = np.arange(k) + 0.5
    if dims == 2:
        t = math.pi * (j - 0.5) / k
        return np.stack([np.cos(t), np.sin(t)], -1)
    z = j / k  # upper half-sphere only: an axis and its opposite are the same shape
    r = np.sqrt(1 - z**2)
    phi = math.pi * (1 + 5**0.5) * j
    return np.stack([z, r * np.cos(phi), r * np.sin(phi)], -1)


def _rods(
    size: int, dims: int, centres: np.ndarray, axes: np.ndarray, length: np.ndarray, width: float
) -> np.ndarray:
    """Sum of anisotropic Gaussian rods. centres/axes: (n, k, dims); length: (n, k) -> (n,
    *grid)."""
    grid = np.stack(np.meshgrid(*([np.linspace(0, 1, size)] * dims), indexing="ij"), -1).reshape(
        -1, dims
    )
    out = np.zeros((centres.shape[0], grid.shape[0]), dtype=np.float32)
    for lo in range(0, centres.shape[0], 16):  # chunks keep 64^3 volumes within a few hundred MB
        d = grid[None, None] - centres[lo : lo + 16, :, None, :]  # (c, k, P, dims)
        along = (d * axes[lo : lo + 16, :, None, :]).sum(-1)
        perp2 = (d**2).sum(-1) - along**2
        ln = length[lo : lo + 16, :, None]
        out[lo : lo + 16] = np.exp(-(along**2) / (2 * ln**2) - perp2 / (2 * width**2)).sum(1)
    return out.reshape((centres.shape[0],) + (size,) * dims)


def _shapes(
    info: DatasetInfo, y: np.ndarray, size: int, dims: int, rng: np.random.Generator
) -> np.ndarray:
    """Radiology-like (2D) or volumetric (3D) scenes whose class is the shape of the bright
    object(s)."""
    n, k = len(y), info.n_classes
    # 3D rods thicker: thin ones fill too few voxels
    width, rod = (0.06, 0.2) if dims == 2 else (0.11, 0.28)
    if info.is_multilabel:  # one rod per positive label, its orientation naming the label
        axes = np.broadcast_to(_directions(k, dims), (n, k, dims))
        length = np.where(y > 0, rod, 1e-3)
    elif k == 2:  # binary: a round blob (0) or an elongated rod in a random orientation (1)
        axes = _directions(16, dims)[rng.integers(0, 16, n)][:, None]
        length = np.where(y[:, :1] > 0, rod, width)
    else:  # multi-class: the rod's orientation is the class
        axes = _directions(k, dims)[y[:, 0]][:, None]
        length = np.full((n, 1), rod)
    centres = rng.uniform(0.3, 0.7, size=axes.shape)
    signal = _rods(size, dims, centres, axes, length * rng.uniform(0.85, 1.15, length.shape), width)
    background = 0.2 + 0.1 * rng.random((n,) + (1,) * dims)
    return background + 0.6 * np.minimum(signal, 1.3) + rng.normal(0, 0.08, (n,) + (size,) * dims)


def make_dataset(
    name: str, size: int = 28, seed: int = 0, split_sizes: Optional[Dict[str, int]] = None
) -> Dict[str, np.ndarray]:
    """Arrays of one synthetic dataset in the official layout: ``{split}_images`` uint8,
    ``{split}_labels``."""
    info = get_info(name)
    if size not in info.sizes:
        raise ValueError(f"{name} is offered at sizes {info.sizes}, not {size}.")
    style = DEFAULT_ROUTING[info.name]
    arrays: Dict[str, np.ndarray] = {}
    for split, n in (split_sizes or SPLIT_SIZES).items():
        rng = _rng(seed, info.name, split)
        y = _labels(info, n, rng)
        if style == "A" and not info.is_3d:
            img = _texture(info, y, size, rng)
        else:
            img = _shapes(info, y, size, 3 if info.is_3d else 2, rng)
        arrays[f"{split}_images"] = (np.clip(img, 0, 1) * 255).round().astype(np.uint8)
        arrays[f"{split}_labels"] = y
    return arrays


def write_suite(
    root: str | Path,
    names: Iterable[str] = ALL_DATASETS,
    size: int = 28,
    size_3d: int = 28,
    seed: int = 0,
    split_sizes: Optional[Dict[str, int]] = None,
) -> Path:
    """Write synthetic ``{flag}[_{size}].npz`` files into ``root`` (atomically, one file at a
    time)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        info = get_info(name)
        s = size_3d if info.is_3d else size
        target = root / info.file_name(s)
        if target.exists():
            continue
        # per process: ranks may write at once
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}.npz")
        np.savez_compressed(
            tmp, **make_dataset(name, s, seed, split_sizes), **{MARKER: np.array(SUITE_VERSION)}
        )
        os.replace(tmp, target)
    return root


def ensure_suite(
    names: Iterable[str], size: int, size_3d: int, cache_dir: Optional[str | Path] = None
) -> Path:
    """The embedded suite's folder, with the requested files generated on first use."""
    root = Path(cache_dir or default_cache_dir()) / f"synthetic-v{SUITE_VERSION}"
    return write_suite(root, names, size=size, size_3d=size_3d)
