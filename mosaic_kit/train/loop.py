"""Cyclic multi-task training of MOSAIC (or any method) with an expert-aware EMA teacher.

One *round* visits every selected dataset once, in a seeded shuffled order, for a fixed number of
optimiser steps (or one full epoch); each step is ``step.TrainStep``. After each round the student
is scored on every validation split; the round with the best mean validation ``select_metric``
(accuracy by default, or AUC) is kept and training stops after ``patience`` rounds without
improvement. Then the best checkpoint is scored on val and test (``runs.evaluate_run``).

Run directory: ``config.yaml``, ``environment.json``, ``metrics.jsonl`` (one line per step and
per round), ``best.safetensors`` / ``last.safetensors``, ``last_state.pt`` (see
``saver``), ``results.json``, ``results.md``.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Callable, Optional

from ..config import Config
from ..data.loader import Loader
from ..evaluation.rescore import evaluate_run
from ..evaluation.results import markdown_table
from ..utils import distributed as dist
from ..utils.progress import progress_bar
from .lock import RunLock
from .log import RunLog
from .rounds import end_round, run_round
from .setup import check_run_dir, setup_session
from .signals import NonFiniteError, StopRequest
from .summary import run_summary
from .tracking import Tracker, open_tracker

__all__ = ["train_joint"]


def train_joint(
    cfg: Config,
    resume: bool = False,
    progress: bool = True,
    stop_after_rounds: Optional[int] = None,
    on_round: Optional[Callable[[Path], None]] = None,
) -> Path:
    """One joint run of ``cfg`` (its paths already absolute: ``run.train``, the entry point, makes
    them so and documents the arguments); returns the run directory."""
    check_run_dir(Path(cfg.out), resume)
    rank0 = int(os.environ.get("RANK", "0")) == 0  # the process group starts later, in _setup
    with RunLock(cfg.out) if rank0 else contextlib.nullcontext():
        return _train(cfg, resume, progress, stop_after_rounds, on_round)


def _train(
    cfg: Config,
    resume: bool,
    progress: bool,
    stop_after_rounds: Optional[int],
    on_round: Optional[Callable[[Path], None]],
) -> Path:
    s = setup_session(cfg, resume)
    main, start_round = dist.is_main(), s.state.round
    workers = (
        cfg.loader_workers
        if cfg.loader_workers is not None
        else (2 if s.device.type == "cuda" else 0)
    )
    loader = Loader(
        s.streams,
        workers=workers,
        depth=cfg.prefetch,
        pin_memory=cfg.pin_memory and s.device.type == "cuda",
        shard=dist.shard_range if dist.world_size() > 1 else None,
    )
    tracker = (
        open_tracker(cfg.tracker, s.run_dir, cfg.to_dict(), s.state.step if resume else None)
        if main
        else Tracker()
    )
    log = RunLog(s.run_dir / "metrics.jsonl" if main else None, tracker)
    bar = progress_bar(
        total=s.total_steps,
        initial=s.state.step,
        desc="train",
        unit="step",
        disable=not (progress and main),
        dynamic_ncols=True,
        mininterval=1.0,
    )
    t0 = time.time() - s.state.wall_time_s
    if main and progress:
        bar.write(run_summary(cfg, s.datasets, s.model, str(s.device), s.state.step or None))
    if s.resumed_with:
        log.write(
            kind="resume",
            step=s.state.step,
            round=s.state.round,
            changed={k: list(v) for k, v in s.resumed_with.items()},
        )
        if main:
            what = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in s.resumed_with.items())
            bar.write(
                f"resumed with {what}"
                + (
                    " (the learning-rate schedule keeps its original length; steps past "
                    "it run at min_lr)"
                    if "rounds" in s.resumed_with
                    else ""
                )
            )
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
    if s.state.step and s.state.skipped_steps >= s.state.step:
        tracker.close()
        raise NonFiniteError(
            f"every one of the {s.state.step} steps had a non-finite loss or gradient and was "
            "skipped: the model never trained, so no results are written. A value makes training "
            "degenerate (a huge lr, adapter_scale or consistency_weight?), or the data hold "
            "non-finite values."
        )
    dist.barrier()  # rank 0 has written best.safetensors
    results = evaluate_run(s.run_dir, data=s.data, wall_time_s=time.time() - t0, output="results")
    if main:
        tracker.finish(results, markdown_table(results))
    tracker.close()
    return s.run_dir
