"""Cyclic multi-task training of MOSAIC with an expert-aware EMA teacher.

One *round* visits every selected dataset once, in a seeded shuffled order, for a fixed number of
optimiser steps (or one full epoch). Each step: a batch of one dataset, augmented for the student and
clean for the teacher; task loss + weight * MSE(student CLS on the augmented view, teacher CLS on the clean
view); AdamW over the trainable tensors; then the teacher's tensors that the step used move by EMA.
After each round the student is scored on every validation split; the best mean accuracy is kept and
training stops after ``patience`` rounds without improvement.

Run directory: ``config.yaml``, ``metrics.jsonl`` (one line per step and per round), ``best.safetensors`` and
``last.safetensors`` (student and teacher trainable tensors), ``last_state.pt`` (optimizer, scheduler, RNG
and data-stream state for an exact resume), ``results.json`` and ``results.md``.
"""
from __future__ import annotations

import json
import os
import platform
import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from timm.scheduler import CosineLRScheduler
from tqdm.auto import tqdm

from .. import distributed as dist
from ..config import Config
from ..data import BatchStream, open_datasets
from ..data.loader import Loader
from ..evaluate import autocast, evaluate, prepare, summarize
from ..models import build_model, parameter_report
from ..models.factory import frozen_fingerprint
from ..models.mosaic import MosaicModel
from ..models.speed import apply_speed
from ..registry import get_info, resolve_datasets
from ..results import write_results
from .checkpoint import load_state, load_tensors, save_state, save_tensors, trainable_state
from .ema import ExpertEMA

__all__ = ["train", "resolve_device", "load_run", "evaluate_run", "environment_info"]


def resolve_device(name: str) -> torch.device:
    if dist.world_size() > 1 and name in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())  # this rank's GPU (set by init_from_env)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device={name} asked for, but torch sees no CUDA GPU; use device=cpu or auto.")
    return device


def environment_info() -> Dict[str, Any]:
    import medmnist
    import timm

    from .. import __version__

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).resolve().parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"mosaic_kit": __version__, "torch": torch.__version__, "timm": timm.__version__,
            "medmnist": medmnist.__version__, "python": platform.python_version(), "git_commit": commit}


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def _task_loss(dataset: str, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if get_info(dataset).is_multilabel:
        return F.binary_cross_entropy_with_logits(logits, y.float())
    return F.cross_entropy(logits, y[:, 0])


def _round_order(datasets: List[str], seed: int, rnd: int) -> List[str]:
    perm = torch.randperm(len(datasets), generator=torch.Generator().manual_seed(seed * 7919 + rnd))
    return [datasets[i] for i in perm.tolist()]


def _optimizer(model: MosaicModel, cfg: Config) -> torch.optim.AdamW:
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 and p is not getattr(model.tokenizer_3d, "pos_embed", None) else no_decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT / SIGTERM arrived; a checkpoint of the last finished step was written before stopping."""


class _StopRequest:
    """SIGINT and SIGTERM ask the loop to stop at the next step boundary (a second SIGINT stops at once).

    Only installed from the main thread (signal handlers cannot be set elsewhere); restored afterwards.
    """

    def __init__(self) -> None:
        self.requested: Optional[str] = None
        self._old: Dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}


class NonFiniteError(RuntimeError):
    """Training produced non-finite losses or gradients ``max_bad_steps`` times in a row."""


class _Log:
    """Append-only JSON-lines log, flushed per line (``path=None``: writes nothing, as on ranks other than 0)."""

    def __init__(self, path: Optional[Path]) -> None:
        self.fh = open(path, "a", buffering=1) if path is not None else None

    def write(self, **row: Any) -> None:
        if self.fh is not None:
            self.fh.write(json.dumps(row) + "\n")

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()


def _load_into(model: torch.nn.Module, tensors: Dict[str, torch.Tensor], what: str) -> None:
    params = dict(model.named_parameters())
    expected = {n for n, p in params.items() if p.requires_grad} if what == "student" else set(tensors)
    missing, unexpected = expected - set(tensors), set(tensors) - set(params)
    if missing or unexpected:
        raise ValueError(f"{what} checkpoint does not fit this model: missing {sorted(missing)[:5]}, "
                         f"unexpected {sorted(unexpected)[:5]}; was it written with another method, preset or "
                         "dataset selection?")
    with torch.no_grad():
        for name, t in tensors.items():
            if params[name].shape != t.shape:
                raise ValueError(f"{what} tensor {name} has shape {tuple(t.shape)} in the checkpoint but "
                                 f"{tuple(params[name].shape)} in the model (another preset?).")
            params[name].copy_(t)


def train(cfg: Config, resume: bool = False, progress: bool = True, stop_after_rounds: Optional[int] = None,
          on_round: Optional[Callable[[Path], None]] = None) -> Path:
    """Train MOSAIC as ``cfg`` says; returns the run directory (``cfg.out``).

    ``on_round(run_dir)`` is called after every round's log row and checkpoints are written (the notebooks
    redraw their live curves from ``metrics.jsonl`` there).

    ``stop_after_rounds`` ends this call after that many rounds, checkpointed but not evaluated, as an
    interrupted run would be (resume it with ``resume=True``).
    """
    if cfg.independent:
        return train_independent(cfg, resume, progress, on_round)
    run_dir = Path(cfg.out)
    if resume and not (run_dir / "last_state.pt").exists():
        raise FileNotFoundError(f"Cannot resume: {run_dir} has no last_state.pt (no finished round yet?).")
    if not resume and (run_dir / "last_state.pt").exists():
        raise FileExistsError(f"{run_dir} already holds a run; resume it with `train --resume {run_dir}` or "
                              "choose another --out.")
    run_dir.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    _seed_everything(cfg.seed)
    device = dist.init_from_env(cfg.device) or resolve_device(cfg.device)
    world, main = dist.world_size(), dist.is_main()
    if cfg.batch_size < world:
        raise ValueError(f"batch_size ({cfg.batch_size}) is the global batch and must be at least the number of "
                         f"processes ({world}); raise batch_size or start fewer processes.")
    datasets = resolve_datasets(cfg.datasets)

    with dist.main_first():  # rank 0 writes the .npy caches (or the synthetic suite) that the others then read
        data = open_datasets(cfg.data_root, datasets, cfg.size, cfg.size_3d, download_missing=cfg.download,
                             cache_dir=cfg.cache_dir)
    model, norm = build_model(cfg)
    fingerprint = frozen_fingerprint(model)
    model.to(device).train()
    teacher = ExpertEMA(model)
    for net in (model, teacher.model):
        apply_speed(net, fused_attn=cfg.fused_attn, compile=cfg.compile, channels_last=cfg.channels_last,
                    grad_checkpointing=cfg.grad_checkpointing)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = _optimizer(model, cfg)  # AdamW state for the trainable tensors only
    streams = {n: BatchStream(data[n]["train"], cfg.batch_size, cfg.seed) for n in datasets}
    steps = {n: streams[n].steps_per_epoch if cfg.full_epoch else cfg.steps_per_dataset for n in datasets}
    total_steps = cfg.rounds * sum(steps.values())
    scheduler = CosineLRScheduler(optimizer, t_initial=total_steps, lr_min=cfg.min_lr,
                                  warmup_t=min(cfg.warmup_steps, total_steps), warmup_lr_init=cfg.lr * 1e-3,
                                  t_in_epochs=False)
    aug_gen = torch.Generator().manual_seed(cfg.seed)
    state = {"round": 0, "step": 0, "best_acc": -1.0, "best_round": -1, "bad_rounds": 0, "wall_time_s": 0.0}

    if resume:
        ckpt = load_state(run_dir / "last_state.pt")
        groups, meta = load_tensors(run_dir / "last.safetensors")
        if int(meta.get("round", -1)) != ckpt["state"]["round"] or \
                int(meta.get("step", ckpt["state"]["step"])) != ckpt["state"]["step"]:
            raise RuntimeError(f"{run_dir}: last.safetensors (round {meta.get('round')}, step {meta.get('step')}) and "
                               f"last_state.pt (round {ckpt['state']['round']}, step {ckpt['state']['step']}) "
                               "disagree; the run was interrupted mid-save.")
        _load_into(model, groups["student"], "student")
        _load_into(teacher.model, groups["teacher"], "teacher")
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        aug_gen.set_state(ckpt["aug_gen"])
        torch.set_rng_state(ckpt["torch_rng"])
        for n, s in ckpt["streams"].items():
            streams[n].load_state_dict(s)
        state = ckpt["state"]
        log_path = run_dir / "metrics.jsonl"
        rows = [(line, json.loads(line)) for line in log_path.read_text().splitlines() if line]
        kept = [line for line, r in rows if r["step"] <= state["step"]
                and not (r["kind"] == "round" and r["round"] >= state["round"])]
        if main:
            log_path.write_text("".join(line + "\n" for line in kept))
    elif main:
        (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        (run_dir / "environment.json").write_text(json.dumps(environment_info(), indent=2))
        (run_dir / "metrics.jsonl").unlink(missing_ok=True)

    log = _Log(run_dir / "metrics.jsonl" if main else None)
    student = dist.DatasetDDP(model, datasets, device)  # per-dataset steps; DDP-wrapped under torchrun
    workers = cfg.loader_workers if cfg.loader_workers is not None else (2 if device.type == "cuda" else 0)
    loader = Loader(streams, workers=workers, depth=cfg.prefetch,
                    pin_memory=cfg.pin_memory and device.type == "cuda",
                    shard=dist.shard_range if world > 1 else None)
    val_splits = {n: data[n]["val"] for n in datasets}
    meta = {"method": cfg.method, "backbone": cfg.backbone, "datasets": ",".join(datasets),
            "frozen_fingerprint": fingerprint}
    start_round = state["round"]

    def save_last() -> None:
        if not main:
            return
        # state first, tensors second: a crash in between leaves a round/step mismatch that resume detects
        save_state(run_dir / "last_state.pt", {
            "state": dict(state), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "aug_gen": aug_gen.get_state(), "torch_rng": torch.get_rng_state(),
            "streams": loader.stream_states()})
        save_tensors(run_dir / "last.safetensors",
                     {"student": trainable_state(model), "teacher": teacher.trainable_state()},
                     {**meta, "round": state["round"], "step": state["step"]})

    stop = _StopRequest()
    skip = state.get("round_step", 0)  # steps of the current round already done (a run stopped mid-round)
    bar = tqdm(total=total_steps, initial=state["step"], desc="train", unit="step", disable=not (progress and main),
               dynamic_ncols=True)
    t0 = time.time() - state["wall_time_s"]
    try:
        stop.install()
        for rnd in range(state["round"], cfg.rounds):
            plan = [name for name in _round_order(datasets, cfg.seed, rnd) for _ in range(steps[name])]
            for name, x_u8, y in loader.iterate(plan[skip:]):  # skip: steps done before a mid-round stop
                info = get_info(name)
                momentum = cfg.ema_momentum_3d if info.is_3d else cfg.ema_momentum
                n_global, n_local = streams[name].batch_size, len(x_u8)
                shard = (dist.shard_range(n_global)[0], n_global) if world > 1 else None
                y = y.to(device, non_blocking=True)
                x_aug = prepare(model, name, x_u8, norm, device, augment=cfg.augment, generator=aug_gen, shard=shard,
                                **({} if info.is_3d else {"rotation_deg": cfg.rotation_deg}))
                with autocast(device, cfg.amp):
                    feats, logits = student.step(x_aug, name)
                    task_loss = _task_loss(name, logits.float(), y)
                    loss = task_loss
                    cons = torch.zeros((), device=device)
                    if cfg.consistency_weight > 0:
                        with torch.no_grad():
                            target = teacher.model.forward_features(prepare(model, name, x_u8, norm, device), name)
                        cons = F.mse_loss(feats.float(), target.float())
                        loss = task_loss + cfg.consistency_weight * cons
                # the global batch's means (and whether any rank was asked to stop), the same on every rank
                stats = dist.all_mean(torch.stack([loss.detach(), task_loss.detach(), cons.detach(),
                                                   torch.tensor(float(bool(stop.requested)), device=device)]),
                                      n_local).tolist()
                optimizer.zero_grad(set_to_none=True)
                finite = bool(np.isfinite(stats[0]))
                if finite:
                    # DDP averages over ranks; the weight makes that the global batch's mean for uneven shards
                    (loss * (n_local * world / n_global) if world > 1 else loss).backward()
                    grad_norm = torch.nn.utils.clip_grad_norm_([p for p in params if p.grad is not None],
                                                               cfg.grad_clip if cfg.grad_clip > 0 else float("inf"))
                    finite = bool(torch.isfinite(grad_norm))
                state["step"] += 1
                if finite:
                    optimizer.step()
                    teacher.update(name, momentum)
                    state["bad_in_row"] = 0
                else:  # skip the update, keep the schedule; stop if it keeps happening
                    optimizer.zero_grad(set_to_none=True)
                    state["skipped_steps"] = state.get("skipped_steps", 0) + 1
                    state["bad_in_row"] = state.get("bad_in_row", 0) + 1
                    log.write(kind="skip", step=state["step"], round=rnd, dataset=name, loss=stats[0])
                    if state["bad_in_row"] >= cfg.max_bad_steps:
                        kept = (f"The last good checkpoint ({run_dir / 'last.safetensors'}, after round "
                                f"{state['round']}) is intact: resume with `train --resume {run_dir}` after "
                                "lowering lr, or check the data." if state["round"] else
                                "No round had finished, so there is no checkpoint; lower lr or check the data.")
                        raise NonFiniteError(
                            f"{state['bad_in_row']} steps in a row had a non-finite loss or gradient (last at step "
                            f"{state['step']}, dataset {name}); training stopped. {kept}")
                scheduler.step_update(state["step"])
                row = {"kind": "step", "step": state["step"], "round": rnd, "dataset": name, "loss": stats[0],
                       "task_loss": stats[1], "consistency": stats[2], "lr": optimizer.param_groups[0]["lr"]}
                log.write(**row)
                state["round_step"] = state.get("round_step", 0) + 1
                bar.update(1)
                if stats[3] > 0:
                    state["wall_time_s"] = time.time() - t0
                    save_last()
                    raise TrainingInterrupted(
                        f"{stop.requested or 'a stop on another rank'} received: checkpoint written at step "
                        f"{state['step']} (round {rnd + 1}, mid-round); resume exactly with "
                        f"`python -m mosaic_kit train --resume {run_dir}`.")
                if state["step"] % cfg.log_every == 0:
                    bar.set_postfix(round=rnd, ds=name[:10], loss=f"{row['loss']:.3f}")
            skip = 0

            val = evaluate(model, val_splits, norm, device, cfg.eval_batch_size, cfg.eval_max_samples, cfg.amp)
            mean_acc = summarize(val)["all"]["acc"]
            improved = mean_acc > state["best_acc"]
            state.update(round=rnd + 1, round_step=0, wall_time_s=time.time() - t0)
            if improved:
                state.update(best_acc=mean_acc, best_round=rnd, bad_rounds=0)
            else:
                state["bad_rounds"] += 1
            log.write(kind="round", round=rnd, step=state["step"], val_acc=mean_acc, best=improved,
                      val={n: v["acc"] for n, v in val.items()}, wall_time_s=state["wall_time_s"])
            if main:
                bar.write(f"round {rnd + 1}/{cfg.rounds}: mean val acc {mean_acc:.4f}"
                          f"{' (best)' if improved else ''}")
            if improved and main:
                groups = {"student": trainable_state(model), "teacher": teacher.trainable_state()}
                save_tensors(run_dir / "best.safetensors", groups, {**meta, "round": rnd, "val_acc": mean_acc})
            save_last()
            if on_round is not None:
                on_round(run_dir)
            if cfg.patience and state["bad_rounds"] >= cfg.patience:
                bar.write(f"early stop: no better mean val acc for {cfg.patience} rounds")
                break
            if stop_after_rounds is not None and rnd + 1 - start_round >= stop_after_rounds:
                return run_dir
    finally:
        stop.uninstall()
        bar.close()
        log.close()
        loader.close()
    dist.barrier()  # rank 0 has written best.safetensors
    evaluate_run(run_dir, data=data, wall_time_s=time.time() - t0)
    return run_dir


def train_independent(cfg: Config, resume: bool = False, progress: bool = True,
                      on_round: Optional[Callable[[Path], None]] = None) -> Path:
    """``independent=true``: one single-task model per dataset in ``{out}/{dataset}``, then one merged
    ``results.json`` in ``out`` (trainable parameters summed over the models). Finished datasets are skipped,
    so rerunning (or ``resume``) continues an interrupted sweep."""
    import dataclasses

    run_dir = Path(cfg.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    if dist.is_main():
        (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    t0 = time.time()
    parts: Dict[str, Dict[str, Any]] = {}
    for name in resolve_datasets(cfg.datasets):
        sub = dataclasses.replace(cfg, datasets=[name], independent=False, out=str(run_dir / name))
        if not (Path(sub.out) / "results.json").exists():
            if progress:
                tqdm.write(f"independent: training {name}")
            train(sub, resume=resume and (Path(sub.out) / "last_state.pt").exists(), progress=progress,
                  on_round=on_round)
        parts[name] = json.loads((Path(sub.out) / "results.json").read_text())

    def merged(which: Optional[str]) -> Dict[str, Any]:
        per = {n: (r if which is None else r[which])["datasets"][n] for n, r in parts.items()}
        return {"datasets": per, "mean": summarize({n: v["test"] for n, v in per.items()}),
                "mean_val": summarize({n: v["val"] for n, v in per.items()})}

    results: Dict[str, Any] = {**merged(None), "teacher": merged("teacher"),
                               "routing": {n: r["routing"][n] for n, r in parts.items()},
                               "params": {"trainable": sum(r["params"]["trainable"] for r in parts.values()),
                                          "total": sum(r["params"]["total"] for r in parts.values()),
                                          "models": len(parts),
                                          "per_model": {n: r["params"]["trainable"] for n, r in parts.items()}},
                               "config": cfg.to_dict(), "independent": True, "environment": environment_info(),
                               "wall_time_s": round(sum(r.get("wall_time_s") or 0.0 for r in parts.values()), 1)}
    if dist.is_main():
        write_results(run_dir, results)
    if progress and dist.is_main():
        tqdm.write(f"independent: {len(parts)} models, merged results in {run_dir} ({time.time() - t0:.0f} s)")
    return run_dir


def load_run(run_dir: str | Path, checkpoint: str = "best", overrides: Optional[Dict[str, Any]] = None):
    """Rebuild (cfg, student, teacher, norm, checkpoint metadata) of a run directory."""
    from ..config import load_config

    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.yaml).")
    cfg = load_config(file=str(run_dir / "config.yaml"), overrides=overrides)
    path = run_dir / f"{checkpoint}.safetensors"
    groups, meta = load_tensors(path)
    if meta.get("method", cfg.method) != cfg.method:
        raise ValueError(f"{path} was written by method '{meta.get('method')}', the config says '{cfg.method}'.")
    model, norm = build_model(cfg)
    if meta.get("frozen_fingerprint") not in (None, frozen_fingerprint(model)):
        raise ValueError(f"{path} was trained on other frozen backbone weights than the ones rebuilt now "
                         f"(backbone={cfg.backbone}, weights={cfg.weights}, seed={cfg.seed}); point `weights` at the "
                         "file the run used.")
    _load_into(model, groups["student"], "student")
    teacher = ExpertEMA(model).model
    _load_into(teacher, groups["teacher"], "teacher")
    return cfg, model, teacher, norm, meta


def evaluate_run(run_dir: str | Path, checkpoint: str = "best", data=None, wall_time_s: Optional[float] = None,
                 overrides: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Score student and teacher of ``checkpoint`` on val and test; write results.json / results.md."""
    run_dir = Path(run_dir)
    cfg, model, teacher, norm, meta = load_run(run_dir, checkpoint, overrides)
    device = resolve_device(cfg.device)
    model.to(device)
    teacher.to(device)
    datasets = resolve_datasets(cfg.datasets)
    if data is None:
        data = open_datasets(cfg.data_root, datasets, cfg.size, cfg.size_3d, cache_dir=cfg.cache_dir)

    def score(net: MosaicModel) -> Dict[str, Any]:
        per_split = {split: evaluate(net, {n: data[n][split] for n in datasets}, norm, device, cfg.eval_batch_size,
                                     cfg.eval_max_samples, cfg.amp) for split in ("val", "test")}
        return {"datasets": {n: {split: per_split[split][n] for split in per_split} for n in datasets},
                "mean": summarize(per_split["test"]), "mean_val": summarize(per_split["val"])}

    results: Dict[str, Any] = {**score(model), "teacher": score(teacher), "routing": dict(model.routing),
                               "params": parameter_report(model), "config": cfg.to_dict(), "checkpoint": checkpoint,
                               "best_round": int(meta.get("round", -1)), "environment": environment_info()}
    if any(hasattr(blk.mos, "router") for blk in model.vit.blocks):  # mos-soft: how the router spends each dataset
        from ..data import iter_batches
        from ..methods.mos import router_load

        names = list(model.vit.blocks[0].mos.specialists)
        results["router_load"] = {}
        for n in datasets:
            x, _ = next(iter_batches(data[n]["val"], cfg.eval_batch_size))
            load = router_load(model, prepare(model, n, x, norm, device), n).mean(0)
            results["router_load"][n] = {s: round(float(v), 4) for s, v in zip(names, load)}
    if wall_time_s is not None:
        results["wall_time_s"] = round(wall_time_s, 1)
    elif (run_dir / "results.json").exists():
        results["wall_time_s"] = json.loads((run_dir / "results.json").read_text()).get("wall_time_s")
    if dist.is_main():
        write_results(run_dir, results)
    return results
