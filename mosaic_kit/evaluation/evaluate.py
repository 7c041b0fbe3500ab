"""Batched, gradient-free evaluation of a MOSAIC model over the selected datasets."""

from __future__ import annotations

import contextlib
import math
from typing import Dict, Mapping, Optional, Tuple

import numpy as np
import torch

from ..data import Normalization, Split, iter_batches, prepare_2d, prepare_3d
from ..data.registry import GROUPS, get_info, in_group
from ..models.mosaic import MosaicModel
from ..utils import distributed as dist
from .metrics import bootstrap_ci, compute_metrics, scores_from_logits, within_one_accuracy

__all__ = ["predict", "evaluate", "summarize", "autocast"]


def autocast(device: torch.device, amp: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (``amp`` auto/bf16); nothing on CPU unless ``amp == 'bf16'``."""
    use = amp == "bf16" or (amp == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16) if use else contextlib.nullcontext()


def prepare(
    model: MosaicModel,
    dataset: str,
    x: torch.Tensor,
    norm: Normalization,
    device: torch.device,
    **aug,
) -> torch.Tensor:
    if get_info(dataset).is_3d:
        return prepare_3d(x, model.tokenizer_3d.vol_size, norm, device=device, **aug)
    return prepare_2d(x, model.vit.patch_embed.img_size[0], norm, device=device, **aug)


@torch.no_grad()
def predict(
    model: MosaicModel,
    dataset: str,
    split: Split,
    norm: Normalization,
    device: torch.device,
    batch_size: int = 128,
    limit: Optional[int] = None,
    amp: str = "auto",
    specialist: Optional[str] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """(y_true, y_score) of one split; ``specialist`` forces another specialist than the routed
    one (``"none"``: no adapter at all). Under torchrun each rank scores a contiguous slice and
    every rank gets all scores."""
    was_training = model.training
    model.eval()
    task = get_info(dataset).task
    ys, scores = [], []
    lo, hi = dist.shard_range(len(split) if limit is None else min(limit, len(split)))
    for x, y in iter_batches(split, batch_size, hi, start=lo):
        with autocast(device, amp):
            logits = model(prepare(model, dataset, x, norm, device), dataset, specialist)
        scores.append(scores_from_logits(task, logits.float()).cpu())
        ys.append(y)
    model.train(was_training)
    empty = (
        np.empty((0,) + split.labels.shape[1:], split.labels.dtype),
        np.empty((0, 0), np.float32),
    )
    local = (torch.cat(ys).numpy(), torch.cat(scores).numpy()) if ys else empty
    return dist.gather_concat(*local)


def evaluate(
    model: MosaicModel,
    splits: Mapping[str, Split],
    norm: Normalization,
    device: torch.device,
    batch_size: int = 128,
    limit: Optional[int] = None,
    amp: str = "auto",
    ci: bool = False,
    outputs: Optional[Dict[str, Tuple[np.ndarray, np.ndarray]]] = None,
) -> Dict[str, Dict[str, float]]:
    """Per-dataset ``{"acc", "auc"}`` (RetinaMNIST also ``acc_pm1``) over ``{dataset: split}``;
    with ``ci`` also ``"ci95": {"acc": [lo, hi], "auc": [lo, hi]}``, a seeded bootstrap interval
    over the split's samples. A dict given as ``outputs`` receives each dataset's per-sample
    ``(y_true, y_score)``."""
    out: Dict[str, Dict[str, float]] = {}
    for name, split in splits.items():
        y, s = predict(model, name, split, norm, device, batch_size, limit, amp)
        if outputs is not None:
            outputs[name] = (y, s)
        out[name] = compute_metrics(get_info(name).task, y, s)
        if ci:
            out[name]["ci95"] = {
                k: list(v) for k, v in bootstrap_ci(get_info(name).task, y, s).items()
            }
        if get_info(name).is_ordinal:
            out[name]["acc_pm1"] = within_one_accuracy(y, s)
    return out


def summarize(per_dataset: Mapping[str, Mapping[str, float]]) -> Dict[str, Dict[str, float]]:
    """Unweighted means of ACC and AUC over all / 2D / 3D datasets (NaN AUCs skipped)."""
    out: Dict[str, Dict[str, float]] = {}
    for group in GROUPS:
        names = [n for n in per_dataset if in_group(n, group)]
        if not names:
            continue
        out[group] = {}
        for metric in ("acc", "auc"):
            vals = [per_dataset[n][metric] for n in names if not math.isnan(per_dataset[n][metric])]
            out[group][metric] = float(np.mean(vals)) if vals else float("nan")
    return out
