"""Shared fixtures: a tiny configuration, the real files beside the project, and a small
synthetic root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from mosaic_kit.config import load_config

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_MEDMNIST = SHARED / "medmnist"
DEIT_TINY = SHARED / "weights" / "deit_tiny_patch16_224.int8fq.safetensors"

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Keep the synthetic suite and .npy copies in one per-session folder, never in the user's
    cache."""
    old = os.environ.get("MOSAIC_KIT_CACHE")
    os.environ["MOSAIC_KIT_CACHE"] = str(tmp_path_factory.getbasetemp() / "cache")
    yield
    if old is None:
        os.environ.pop("MOSAIC_KIT_CACHE")
    else:
        os.environ["MOSAIC_KIT_CACHE"] = old


def tiny_cfg(tmp_path, **overrides):
    """A configuration that builds in well under a second: timm's test_vit, 32 px, 16^3 volumes."""
    base = dict(
        backbone="test_vit",
        weights=None,
        img_size=32,
        vol_size=16,
        bottleneck_a=8,
        bottleneck_b=12,
        bottleneck_c=16,
        device="cpu",
        rounds=2,
        steps_per_dataset=3,
        batch_size=8,
        eval_batch_size=64,
        warmup_steps=2,
        lr=1e-3,
        out=str(tmp_path / "run"),
        datasets=["pathmnist", "breastmnist", "adrenalmnist3d"],
    )
    base.update(overrides)
    return load_config(overrides=base)


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(
            f"{path} is not beside the project (../shared/data); these tests read the real files "
            "there"
        )
    return path
