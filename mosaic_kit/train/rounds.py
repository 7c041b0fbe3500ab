"""One round of cyclic training (every dataset's steps in the round's order) and its end
(validation, the log row, best and last checkpoints)."""

from __future__ import annotations

import math
import time

from tqdm import tqdm

from ..data import iter_batches
from ..data.loader import Loader
from ..evaluation.evaluate import evaluate, prepare, summarize
from ..methods import has_mixing, mixing_summary
from ..utils import distributed as dist
from .log import RunLog
from .optim import round_order
from .setup import Session
from .signals import NonFiniteError, StopRequest, TrainingInterrupted

__all__ = ["run_round", "end_round"]


def run_round(
    s: Session, rnd: int, loader: Loader, log: RunLog, stop: StopRequest, bar: tqdm, t0: float
) -> None:
    """The steps of round ``rnd`` still to take (all, or the rest after a mid-round stop)."""
    cfg, state = s.cfg, s.state
    schedule = [
        name for name in round_order(s.datasets, cfg.seed, rnd) for _ in range(s.steps[name])
    ]
    for name, x_u8, y in loader.iterate(schedule[state.round_step :]):
        out = s.step(
            name,
            x_u8,
            y,
            n_global=s.streams[name].batch_size,
            stop_requested=lambda: bool(stop.requested),
        )
        state.step += 1
        if out.finite:
            state.bad_in_row = 0
        else:  # skipped: keep the schedule; stop if it keeps happening
            state.skipped_steps += 1
            state.bad_in_row += 1
            log.write(kind="skip", step=state.step, round=rnd, dataset=name, loss=out.loss)
            if state.bad_in_row >= cfg.max_bad_steps:
                kept = (
                    f"The last good checkpoint ({s.run_dir / 'last.safetensors'}, after round "
                    f"{state.round}) is intact: resume with `train --resume {s.run_dir}` after "
                    "lowering lr, or check the data."
                    if state.round
                    else "No round had finished, so there is no checkpoint; lower lr or check "
                    "the data."
                )
                raise NonFiniteError(
                    f"{state.bad_in_row} steps in a row had a non-finite loss or gradient (last at "
                    f"step {state.step}, dataset {name}); training stopped. {kept}"
                )
        s.scheduler.step_update(state.step)
        log.write(
            kind="step",
            step=state.step,
            round=rnd,
            dataset=name,
            loss=out.loss,
            task_loss=out.task_loss,
            consistency=out.consistency,
            lr=s.optimizer.param_groups[0]["lr"],
        )
        state.round_step += 1
        bar.update(1)
        if out.stop:
            state.wall_time_s = time.time() - t0
            s.checkpointer.save_last(
                state, s.optimizer, s.scheduler, s.aug_gen, loader.stream_states()
            )
            raise TrainingInterrupted(
                f"{stop.requested or 'a stop on another rank'} received: checkpoint written at "
                f"step {state.step} (round {rnd + 1}, mid-round); resume exactly with `python -m "
                f"mosaic_kit train --resume {s.run_dir}`."
            )
        if state.step % cfg.log_every == 0:
            bar.set_postfix(round=f"{rnd + 1}/{cfg.rounds}", ds=name, loss=f"{out.loss:.3f}")


def end_round(s: Session, rnd: int, loader: Loader, log: RunLog, bar: tqdm, t0: float) -> None:
    """Score the validation splits, update the best round and early-stopping count, checkpoint."""
    cfg, state = s.cfg, s.state
    val = evaluate(
        s.model,
        {n: s.data[n]["val"] for n in s.datasets},
        s.norm,
        s.device,
        cfg.eval_batch_size,
        cfg.eval_max_samples,
        cfg.amp,
    )
    means = summarize(val)["all"]
    # the checkpoint is chosen on select_metric
    mean_acc, score = (
        means["acc"],
        means[cfg.select_metric],
    )
    improved = not math.isnan(score) and score > state.best_acc
    state.round, state.round_step, state.wall_time_s = rnd + 1, 0, time.time() - t0
    if improved:
        state.best_acc, state.best_round, state.bad_rounds = score, rnd, 0
    else:
        state.bad_rounds += 1
    log.write(
        kind="round",
        round=rnd,
        step=state.step,
        val_acc=mean_acc,
        val_auc=means["auc"],
        best=improved,
        val={n: v["acc"] for n, v in val.items()},
        val_auc_by_dataset={n: v["auc"] for n, v in val.items()},
        wall_time_s=state.wall_time_s,
    )
    if has_mixing(
        s.model
    ):  # mos-soft's router load, gmoe's gate: each expert's mean weight on a val batch
        log.write(
            kind="gate",
            round=rnd,
            step=state.step,
            weights={
                n: mixing_summary(
                    s.model,
                    prepare(
                        s.model, n, next(iter_batches(s.data[n]["val"], 64))[0], s.norm, s.device
                    ),
                    n,
                )
                for n in s.datasets
            },
        )
    if dist.is_main():
        bar.write(
            f"round {rnd + 1}/{cfg.rounds}: mean val acc {mean_acc:.4f}, auc {means['auc']:.4f}"
            f"{' (best)' if improved else ''}"
        )
    if improved:
        s.checkpointer.save_best(rnd, mean_acc)
    s.checkpointer.save_last(state, s.optimizer, s.scheduler, s.aug_gen, loader.stream_states())
