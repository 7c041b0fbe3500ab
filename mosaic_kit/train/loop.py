"""Cyclic multi-task training of MOSAIC (or any method) with an expert-aware EMA teacher.

One *round* visits every selected dataset once, in a seeded shuffled order, for a fixed number of optimiser
steps (or one full epoch); each step is ``step.TrainStep``. After each round the student is scored on every
validation split; the round with the best mean validation ``select_metric`` (accuracy by default, or AUC) is kept
and training stops after ``patience`` rounds without improvement. Then the best checkpoint is scored on val and test (``runs.evaluate_run``).

Run directory: ``config.yaml``, ``environment.json``, ``metrics.jsonl`` (one line per step and per round),
``best.safetensors`` / ``last.safetensors``, ``last_state.pt`` (see ``checkpointer``), ``results.json``,
``results.md``.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
import yaml
from tqdm import tqdm  # a text bar: shown in terminals, notebooks and papermill output

from .. import distributed as dist
from ..config import Config
from ..data import BatchStream, Normalization, iter_batches, open_datasets
from ..data.loader import Loader
from ..environment import environment_info
from ..evaluate import evaluate, prepare, summarize
from ..methods import build_model, has_mixing, mixing_summary
from ..models.mosaic import MosaicModel
from ..models.parameters import frozen_fingerprint
from ..models.speed import apply_speed
from ..registry import resolve_datasets
from ..results import markdown_table
from ..runs import evaluate_run
from ..atomic import remove_leftovers
from ..checkpoint import load_state
from .checkpointer import Checkpointer
from .ema import ExpertEMA
from .lock import RunLock
from .log import RunLog
from .summary import run_summary
from .tracking import Tracker, open_tracker
from .optim import build_optimizer, build_scheduler, class_weights, round_order, steps_per_round
from ..custom import write_run_datasets
from ..paths import with_absolute_paths
from .resume import resume_changes
from .signals import NonFiniteError, StopRequest, TrainingInterrupted
from .state import TrainState
from .step import TrainStep

__all__ = ["train", "Session"]


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
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def _check_run_dir(run_dir: Path, resume: bool) -> None:
    if str(run_dir) in ("", "."):
        raise ValueError("out is empty (or '.'): a run needs a folder of its own, never the current one; give "
                         "--out runs/NAME.")
    if run_dir.exists() and not run_dir.is_dir():
        raise FileExistsError(f"out={run_dir} is a file, not a folder; a run needs a folder of its own: choose another "
                              "--out.")
    if resume and not (run_dir / "last_state.pt").exists():
        raise FileNotFoundError(f"Cannot resume: {run_dir} has no last_state.pt (no finished round yet?).")
    if not resume and (run_dir / "last_state.pt").exists():
        raise FileExistsError(f"{run_dir} already holds a run; resume it with `train --resume {run_dir}` or "
                              "choose another --out.")


def _setup(cfg: Config, resume: bool) -> Session:
    """Open the (locked) run directory and build model, teacher, optimizer, schedule and data streams; on resume,
    first check that the configuration changes only what a resume may change."""
    run_dir = Path(cfg.out)
    _check_run_dir(run_dir, resume)  # again, now under the lock
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
        raise ValueError(f"batch_size ({cfg.batch_size}) is the global batch and must be at least the number of "
                         f"processes ({dist.world_size()}); raise batch_size or start fewer processes.")
    datasets = resolve_datasets(cfg.datasets)
    with dist.main_first():  # rank 0 writes the .npy caches (or the synthetic suite) that the others then read
        data = open_datasets(cfg.data_root, datasets, cfg.size, cfg.size_3d, download_missing=cfg.download,
                             cache_dir=cfg.cache_dir)
    model, norm = build_model(cfg)
    if not cfg.weights and sum(p.numel() for p in model.vit.parameters()) > 2_000_000 and dist.is_main():
        print(f"warning: backbone {cfg.backbone} has no weights file (weights=None): it is a random init, so this run "
              "says nothing about a pretrained ViT; give weights=PATH. Results and tables mark it `pretrained: "
              "false`.", file=sys.stderr)
    fingerprint = frozen_fingerprint(model)
    model.to(device).train()
    teacher = ExpertEMA(model)
    for net in (model, teacher.model):
        apply_speed(net, fused_attn=cfg.fused_attn, compile=cfg.compile, channels_last=cfg.channels_last,
                    grad_checkpointing=cfg.grad_checkpointing)
    optimizer = build_optimizer(model, cfg)
    streams = {n: BatchStream(data[n]["train"], cfg.batch_size, cfg.seed, cfg.class_balance == "sampler")
               for n in datasets}
    steps = steps_per_round(cfg, datasets, {n: streams[n].steps_per_epoch for n in datasets})
    scheduler = build_scheduler(optimizer, cfg, cfg.rounds * sum(steps.values()))
    aug_gen = torch.Generator().manual_seed(cfg.seed)
    meta = {"method": cfg.method, "backbone": cfg.backbone, "datasets": ",".join(datasets),
            "frozen_fingerprint": fingerprint}
    checkpointer = Checkpointer(run_dir, model, teacher, meta, cfg.to_dict(), main=dist.is_main())
    state = TrainState()
    if resume:
        state = checkpointer.restore(optimizer, scheduler, aug_gen, streams, ckpt)
        checkpointer.trim_log(state)
        if changes and dist.is_main():
            (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    elif dist.is_main():
        (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        write_run_datasets(run_dir, datasets)  # your own datasets' specs: the run loads without their files
        (run_dir / "environment.json").write_text(json.dumps(environment_info(), indent=2))
        (run_dir / "metrics.jsonl").unlink(missing_ok=True)
    weights = ({n: class_weights(n, data[n]["train"].labels) for n in datasets} if cfg.class_balance == "loss"
               else None)
    step = TrainStep(model, teacher, optimizer, norm, device, cfg, aug_gen, weights)
    return Session(cfg, run_dir, device, datasets, data, model, norm, teacher, optimizer, scheduler, streams, steps,
                   aug_gen, step, checkpointer, state, changes)


def run_round(s: Session, rnd: int, loader: Loader, log: RunLog, stop: StopRequest, bar: tqdm, t0: float) -> None:
    """The steps of round ``rnd`` still to take (all, or the rest after a mid-round stop)."""
    cfg, state = s.cfg, s.state
    schedule = [name for name in round_order(s.datasets, cfg.seed, rnd) for _ in range(s.steps[name])]
    for name, x_u8, y in loader.iterate(schedule[state.round_step:]):
        out = s.step(name, x_u8, y, n_global=s.streams[name].batch_size, stop_requested=lambda: bool(stop.requested))
        state.step += 1
        if out.finite:
            state.bad_in_row = 0
        else:  # skipped: keep the schedule; stop if it keeps happening
            state.skipped_steps += 1
            state.bad_in_row += 1
            log.write(kind="skip", step=state.step, round=rnd, dataset=name, loss=out.loss)
            if state.bad_in_row >= cfg.max_bad_steps:
                kept = (f"The last good checkpoint ({s.run_dir / 'last.safetensors'}, after round {state.round}) "
                        f"is intact: resume with `train --resume {s.run_dir}` after lowering lr, or check the data."
                        if state.round else "No round had finished, so there is no checkpoint; lower lr or check "
                        "the data.")
                raise NonFiniteError(f"{state.bad_in_row} steps in a row had a non-finite loss or gradient (last at "
                                     f"step {state.step}, dataset {name}); training stopped. {kept}")
        s.scheduler.step_update(state.step)
        log.write(kind="step", step=state.step, round=rnd, dataset=name, loss=out.loss, task_loss=out.task_loss,
                  consistency=out.consistency, lr=s.optimizer.param_groups[0]["lr"])
        state.round_step += 1
        bar.update(1)
        if out.stop:
            state.wall_time_s = time.time() - t0
            s.checkpointer.save_last(state, s.optimizer, s.scheduler, s.aug_gen, loader.stream_states())
            raise TrainingInterrupted(
                f"{stop.requested or 'a stop on another rank'} received: checkpoint written at step {state.step} "
                f"(round {rnd + 1}, mid-round); resume exactly with `python -m mosaic_kit train --resume {s.run_dir}`.")
        if state.step % cfg.log_every == 0:
            bar.set_postfix(round=f"{rnd + 1}/{cfg.rounds}", ds=name, loss=f"{out.loss:.3f}")


def end_round(s: Session, rnd: int, loader: Loader, log: RunLog, bar: tqdm, t0: float) -> None:
    """Score the validation splits, update the best round and early-stopping count, checkpoint."""
    cfg, state = s.cfg, s.state
    val = evaluate(s.model, {n: s.data[n]["val"] for n in s.datasets}, s.norm, s.device, cfg.eval_batch_size,
                   cfg.eval_max_samples, cfg.amp)
    means = summarize(val)["all"]
    mean_acc, score = means["acc"], means[cfg.select_metric]  # the checkpoint is chosen on select_metric
    improved = not math.isnan(score) and score > state.best_acc
    state.round, state.round_step, state.wall_time_s = rnd + 1, 0, time.time() - t0
    if improved:
        state.best_acc, state.best_round, state.bad_rounds = score, rnd, 0
    else:
        state.bad_rounds += 1
    log.write(kind="round", round=rnd, step=state.step, val_acc=mean_acc, val_auc=means["auc"], best=improved,
              val={n: v["acc"] for n, v in val.items()}, val_auc_by_dataset={n: v["auc"] for n, v in val.items()},
              wall_time_s=state.wall_time_s)
    if has_mixing(s.model):  # mos-soft's router load, gmoe's gate: each expert's mean weight on a val batch
        log.write(kind="gate", round=rnd, step=state.step, weights={
            n: mixing_summary(s.model, prepare(s.model, n, next(iter_batches(s.data[n]["val"], 64))[0], s.norm,
                                               s.device), n) for n in s.datasets})
    if dist.is_main():
        bar.write(f"round {rnd + 1}/{cfg.rounds}: mean val acc {mean_acc:.4f}, auc {means['auc']:.4f}"
                  f"{' (best)' if improved else ''}")
    if improved:
        s.checkpointer.save_best(rnd, mean_acc)
    s.checkpointer.save_last(state, s.optimizer, s.scheduler, s.aug_gen, loader.stream_states())


def train(cfg: Config, resume: bool = False, progress: bool = True, stop_after_rounds: Optional[int] = None,
          on_round: Optional[Callable[[Path], None]] = None) -> Path:
    """Train as ``cfg`` says; returns the run directory (``cfg.out``).

    ``on_round(run_dir)`` is called after every round's log row and checkpoints are written (the notebooks
    redraw their live curves from ``metrics.jsonl`` there). ``stop_after_rounds`` ends this call after that many
    rounds, checkpointed but not evaluated, as an interrupted run would be (resume it with ``resume=True``).
    ``independent=true`` trains one single-task model per dataset instead (``independent.train_independent``).
    """
    cfg = with_absolute_paths(cfg)  # config.yaml records where the data and weights are, from any folder
    if cfg.independent:
        from .independent import train_independent

        return train_independent(cfg, resume, progress, on_round)
    _check_run_dir(Path(cfg.out), resume)
    rank0 = int(os.environ.get("RANK", "0")) == 0  # the process group starts later, in _setup
    with RunLock(cfg.out) if rank0 else contextlib.nullcontext():
        return _train(cfg, resume, progress, stop_after_rounds, on_round)


def _train(cfg: Config, resume: bool, progress: bool, stop_after_rounds: Optional[int],
           on_round: Optional[Callable[[Path], None]]) -> Path:
    s = _setup(cfg, resume)
    main, start_round = dist.is_main(), s.state.round
    workers = cfg.loader_workers if cfg.loader_workers is not None else (2 if s.device.type == "cuda" else 0)
    loader = Loader(s.streams, workers=workers, depth=cfg.prefetch,
                    pin_memory=cfg.pin_memory and s.device.type == "cuda",
                    shard=dist.shard_range if dist.world_size() > 1 else None)
    tracker = open_tracker(cfg.tracker, s.run_dir, cfg.to_dict(), s.state.step if resume else None) if main \
        else Tracker()
    log = RunLog(s.run_dir / "metrics.jsonl" if main else None, tracker)
    bar = tqdm(total=s.total_steps, initial=s.state.step, desc="train", unit="step", disable=not (progress and main),
               dynamic_ncols=True, mininterval=1.0)
    t0 = time.time() - s.state.wall_time_s
    if main and progress:
        bar.write(run_summary(cfg, s.datasets, s.model, str(s.device), s.state.step or None))
    if s.resumed_with:
        log.write(kind="resume", step=s.state.step, round=s.state.round,
                  changed={k: list(v) for k, v in s.resumed_with.items()})
        if main:
            what = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in s.resumed_with.items())
            bar.write(f"resumed with {what}" + (" (the learning-rate schedule keeps its original length; steps past "
                                                 "it run at min_lr)" if "rounds" in s.resumed_with else ""))
    try:
        with StopRequest() as stop:
            for rnd in range(s.state.round, cfg.rounds):
                run_round(s, rnd, loader, log, stop, bar, t0)
                end_round(s, rnd, loader, log, bar, t0)
                if on_round is not None:
                    on_round(s.run_dir)
                if cfg.patience and s.state.bad_rounds >= cfg.patience:
                    bar.write(f"early stop: no better mean val acc for {cfg.patience} rounds")
                    break
                if stop_after_rounds is not None and rnd + 1 - start_round >= stop_after_rounds:
                    tracker.close()
                    return s.run_dir
    except BaseException:
        tracker.close()
        raise
    finally:
        bar.close()
        log.close()
        loader.close()
    dist.barrier()  # rank 0 has written best.safetensors
    results = evaluate_run(s.run_dir, data=s.data, wall_time_s=time.time() - t0, output="results")
    if main:
        tracker.finish(results, markdown_table(results))
    tracker.close()
    return s.run_dir
