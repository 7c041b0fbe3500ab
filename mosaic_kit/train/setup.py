"""A run's set-up: its folder checked, seeds, data, model, optimizer, EMA teacher and
checkpointer built, and a resumed state restored (``Session``)."""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import yaml

from ..config import Config
from ..data import BatchStream, Normalization, open_datasets
from ..data.registry import resolve_datasets
from ..data.specs import write_run_datasets
from ..methods import build_model
from ..models.mosaic import MosaicModel
from ..models.parameters import frozen_fingerprint
from ..models.speed import apply_speed
from ..utils import distributed as dist
from ..utils.atomic import remove_leftovers
from ..utils.checkpoint import load_state
from ..utils.environment import environment_info
from .ema import ExpertEMA
from .optim import build_optimizer, build_scheduler, class_weights, steps_per_round
from .resume import resume_changes
from .saver import Checkpointer
from .state import TrainState
from .step import TrainStep

__all__ = ["Session", "setup_session", "check_run_dir"]


@dataclass
class Session:
    """Everything a round of one run works with."""

    cfg: Config
    run_dir: Path
    device: torch.device
    datasets: List[str]
    data: Dict[str, Dict]
    model: MosaicModel
    norm: Normalization
    teacher: ExpertEMA
    optimizer: torch.optim.Optimizer
    scheduler: object
    streams: Dict[str, BatchStream]
    steps: Dict[str, int]  # steps per dataset in a round
    aug_gen: torch.Generator
    step: TrainStep
    checkpointer: Checkpointer
    state: TrainState
    resumed_with: Dict[str, tuple]  # keys a resume changed: {key: (before, now)}

    @property
    def total_steps(self) -> int:
        return self.cfg.rounds * sum(self.steps.values())


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def check_run_dir(run_dir: Path, resume: bool) -> None:
    if str(run_dir) in ("", "."):
        raise ValueError(
            "out is empty (or '.'): a run needs a folder of its own, never the current one; give "
            "--out runs/NAME."
        )
    if run_dir.exists() and not run_dir.is_dir():
        raise FileExistsError(
            f"out={run_dir} is a file, not a folder; a run needs a folder of its own: choose "
            "another --out."
        )
    if resume and not (run_dir / "last_state.pt").exists():
        raise FileNotFoundError(
            f"Cannot resume: {run_dir} has no last_state.pt (no finished round yet?)."
        )
    if not resume and (run_dir / "last_state.pt").exists():
        raise FileExistsError(
            f"{run_dir} already holds a run; resume it with `train --resume {run_dir}` or "
            "choose another --out."
        )


def setup_session(cfg: Config, resume: bool) -> Session:
    """Open the (locked) run directory and build model, teacher, optimizer, schedule and data
    streams; on resume, first check that the configuration changes only what a resume may change."""
    run_dir = Path(cfg.out)
    check_run_dir(run_dir, resume)  # again, now under the lock
    remove_leftovers(run_dir)  # half-written files of a killed run: this process holds the lock
    ckpt, changes = None, {}
    if resume:
        ckpt = load_state(run_dir / "last_state.pt")
        if "config" in ckpt:  # runs of version 0.1 stored no configuration in their state
            changes = resume_changes(ckpt["config"], cfg, str(run_dir))
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    _seed_everything(cfg.seed)
    device = dist.init_from_env(cfg.device) or dist.resolve_device(cfg.device)
    if cfg.batch_size < dist.world_size():
        raise ValueError(
            f"batch_size ({cfg.batch_size}) is the global batch and must be at least the number of "
            f"processes ({dist.world_size()}); raise batch_size or start fewer processes."
        )
    datasets = resolve_datasets(cfg.datasets)
    with (
        dist.main_first()
    ):  # rank 0 writes the .npy caches (or the synthetic suite) that the others then read
        data = open_datasets(
            cfg.data_root,
            datasets,
            cfg.size,
            cfg.size_3d,
            download_missing=cfg.download,
            cache_dir=cfg.cache_dir,
        )
    model, norm = build_model(cfg)
    if (
        not cfg.weights
        and sum(p.numel() for p in model.vit.parameters()) > 2_000_000
        and dist.is_main()
    ):
        print(
            f"warning: backbone {cfg.backbone} has no weights file (weights=None): it is a random "
            "init, so this run says nothing about a pretrained ViT; give weights=PATH. Results "
            "and tables mark it `pretrained: false`.",
            file=sys.stderr,
        )
    fingerprint = frozen_fingerprint(model)
    model.to(device).train()
    teacher = ExpertEMA(model)
    for net in (model, teacher.model):
        apply_speed(
            net,
            fused_attn=cfg.fused_attn,
            compile=cfg.compile,
            channels_last=cfg.channels_last,
            grad_checkpointing=cfg.grad_checkpointing,
        )
    optimizer = build_optimizer(model, cfg)
    streams = {
        n: BatchStream(data[n]["train"], cfg.batch_size, cfg.seed, cfg.class_balance == "sampler")
        for n in datasets
    }
    steps = steps_per_round(cfg, datasets, {n: streams[n].steps_per_epoch for n in datasets})
    scheduler = build_scheduler(optimizer, cfg, cfg.rounds * sum(steps.values()))
    aug_gen = torch.Generator().manual_seed(cfg.seed)
    meta = {
        "method": cfg.method,
        "backbone": cfg.backbone,
        "datasets": ",".join(datasets),
        "frozen_fingerprint": fingerprint,
    }
    checkpointer = Checkpointer(run_dir, model, teacher, meta, cfg.to_dict(), main=dist.is_main())
    state = TrainState()
    if resume:
        state = checkpointer.restore(optimizer, scheduler, aug_gen, streams, ckpt)
        checkpointer.trim_log(state)
        if changes and dist.is_main():
            (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    elif dist.is_main():
        (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        # your own datasets' specs: the run loads without their files
        write_run_datasets(run_dir, datasets)
        (run_dir / "environment.json").write_text(json.dumps(environment_info(), indent=2))
        (run_dir / "metrics.jsonl").unlink(missing_ok=True)
    weights = (
        {n: class_weights(n, data[n]["train"].labels) for n in datasets}
        if cfg.class_balance == "loss"
        else None
    )
    step = TrainStep(model, teacher, optimizer, norm, device, cfg, aug_gen, weights)
    return Session(
        cfg,
        run_dir,
        device,
        datasets,
        data,
        model,
        norm,
        teacher,
        optimizer,
        scheduler,
        streams,
        steps,
        aug_gen,
        step,
        checkpointer,
        state,
        changes,
    )
