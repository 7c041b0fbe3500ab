"""Shared parts of the speed benchmarks: the interleaved median timer, the Markdown report, the
models and batches every section builds."""

from __future__ import annotations

import dataclasses
import functools
import statistics
import sys
import time
from typing import Callable, Dict, List

import torch

from mosaic_kit.config import load_config
from mosaic_kit.data import (
    Normalization,
)
from mosaic_kit.data.registry import DEFAULT_ROUTING
from mosaic_kit.methods import build_model
from mosaic_kit.train import ExpertEMA, TrainStep
from mosaic_kit.train.optim import build_optimizer

NORM = Normalization((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


#: one 2D dataset per specialist (A, B) and a 3D one (C)
PROBES = {"A": "pathmnist", "B": "pneumoniamnist", "C": "adrenalmnist3d"}


RESULTS: Dict[str, object] = {}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


MIN_SECONDS = (
    20.0  # each comparison runs at least this long (more repetitions for fast calls), --min-seconds
)


def bench(
    fns: Dict[str, Callable[[], object]], device: torch.device, reps: int, warmup: int = 1
) -> Dict[str, float]:
    """Median seconds per call of each function, calls interleaved A B A B ...; at least ``reps``
    rounds, more (up to 200) until the comparison has taken ``MIN_SECONDS``."""
    t = time.perf_counter()
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync(device)
    per_round = (time.perf_counter() - t) / max(warmup, 1)
    reps = min(200, max(reps, int(MIN_SECONDS / max(per_round, 1e-6))))
    times: Dict[str, List[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            sync(device)
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def report(section: str, rows: List[Dict[str, object]]) -> None:
    RESULTS.setdefault(section, []).extend(rows)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    print(f"\n### {section}\n")
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print(
            "| "
            + " | ".join(
                f"{r[k]:.4g}" if isinstance(r.get(k), float) else str(r.get(k, "")) for k in keys
            )
            + " |"
        )
    sys.stdout.flush()


@functools.lru_cache(maxsize=None)
def embed_dim(backbone: str) -> int:
    import timm

    return timm.create_model(backbone, pretrained=False, num_classes=0).embed_dim


def model_for(backbone: str, device: torch.device, method: str = "mos", **kw):
    """The kit's model at 224 px; MOSAIC's bottlenecks are the paper's ViT-B widths (64/96/192 of
    768) scaled to the backbone's width, so DeiT-Tiny (192) gets 16/24/48."""
    d = embed_dim(backbone)
    widths = dict(bottleneck_a=d // 12, bottleneck_b=d // 8, bottleneck_c=d // 4)
    base = dict(
        backbone=backbone,
        weights=None,
        img_size=224,
        vol_size=64,
        method=method,
        datasets=list(PROBES.values()),
        device=str(device),
        **widths,
    )
    cfg = load_config(overrides={**base, **kw})
    model, _ = build_model(cfg)
    return model.to(device), cfg


def batch_for(dataset: str, n: int, device: torch.device) -> torch.Tensor:
    shape = (n, 1, 64, 64, 64) if DEFAULT_ROUTING[dataset] == "C" else (n, 3, 224, 224)
    return torch.randn(shape, device=device)


def uint8_batch_for(dataset: str, n: int) -> torch.Tensor:
    """A batch as the data files hold it: uint8 (B, 224, 224, 3) images or (B, 64, 64, 64)
    volumes."""
    shape = (n, 64, 64, 64) if DEFAULT_ROUTING[dataset] == "C" else (n, 224, 224, 3)
    return torch.randint(0, 256, shape, dtype=torch.uint8)


def _step_fn(model, cfg, dataset, x_u8, y, device, amp, teacher=False):
    """The kit's own training step (``mosaic_kit.train.TrainStep``, what ``train`` runs) on one
    fixed uint8 batch: device transfer, augmentation and normalisation, forward, loss, the
    non-finite guard, backward, gradient clipping, AdamW and, with ``teacher``, the EMA teacher's
    forward (consistency loss) and update."""
    cfg = dataclasses.replace(cfg, amp=amp, lr=1e-5, consistency_weight=0.1 if teacher else 0.0)
    opt = build_optimizer(model, cfg)
    step = TrainStep(model, ExpertEMA(model) if teacher else None, opt, NORM, device, cfg)
    return (lambda: step(dataset, x_u8, y)), opt


def _opt_state_mb(opt) -> float:
    return (
        sum(
            t.numel() * t.element_size()
            for s in opt.state.values()
            for t in s.values()
            if torch.is_tensor(t)
        )
        / 2**20
    )
