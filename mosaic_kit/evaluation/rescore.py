"""Scoring a finished run's checkpoint again: on val and test, for the student and the teacher,
the reported round and the last."""

from __future__ import annotations

import contextlib
import copy
import functools
from pathlib import Path
from typing import Any, Dict, Optional

from ..config import Config
from ..data import Normalization, dataset_provenance, iter_batches, open_datasets
from ..data.provenance import same_splits_check
from ..data.registry import get_info, resolve_datasets
from ..methods import (
    has_mixing,
    mixing_summary,
    parameter_report,
)
from ..models.mosaic import MosaicModel
from ..models.pretrained import weights_provenance
from ..utils import distributed as dist
from ..utils.checkpoint import load_tensors
from ..utils.environment import environment_info
from .evaluate import evaluate, prepare, summarize
from .metrics import majority_accuracy
from .outputs import Outputs, write_outputs
from .results import load_results, write_results
from .runs import LoadedRun, load_run

__all__ = ["RUNTIME_KEYS", "evaluation_name", "evaluate_run"]


#: Keys that change how an evaluation runs, not what it scores (a moved weights file must match the
#: recorded sha256): left out of an evaluation's file name.
RUNTIME_KEYS = (
    "device",
    "out",
    "threads",
    "loader_workers",
    "prefetch",
    "pin_memory",
    "eval_batch_size",
    "cache_dir",
    "log_every",
    "weights",
)


def evaluation_name(checkpoint: str, overrides: Optional[Dict[str, Any]] = None) -> str:
    """File stem of a later evaluation: ``evaluation-best``,
    ``evaluation-last-eval_max_samples=64``, ... (keys that change what is scored;
    ``RUNTIME_KEYS`` are left out)."""
    keys = "-".join(
        f"{k}={v}" for k, v in sorted((overrides or {}).items()) if k not in RUNTIME_KEYS
    )
    return f"evaluation-{checkpoint}" + (f"-{keys}" if keys else "").replace("/", "_").replace(
        " ", ""
    )


def evaluate_run(
    run_dir: str | Path,
    checkpoint: str = "best",
    data=None,
    wall_time_s: Optional[float] = None,
    overrides: Optional[Dict[str, Any]] = None,
    output: Optional[str] = None,
) -> Dict[str, Any]:
    """Score student and teacher of ``checkpoint`` on val and test and write them as
    ``{output}.json`` / ``.md``, with every sample's label and scores in
    ``outputs.outputs_path(run_dir, output)``.

    The trainer's own evaluation (``output="results"``) also scores the last round's checkpoint
    (``results["last"]``, outputs under ``last/``): the validation score a configuration is chosen
    on, since the best round's is a maximum over rounds.

    The trainer's own evaluation is ``output="results"`` (``results.json``, what tables read);
    any other call writes beside it under ``evaluation_name(checkpoint, overrides)`` and never
    over the training result."""
    run = load_run(run_dir, checkpoint, overrides)
    cfg, model, teacher, norm, run_dir = run.cfg, run.model, run.teacher, run.norm, run.run_dir
    device = dist.resolve_device(cfg.device)
    model.to(device)
    teacher.to(device)
    datasets = resolve_datasets(cfg.datasets)
    if data is None:
        data = open_datasets(
            cfg.data_root, datasets, cfg.size, cfg.size_3d, cache_dir=cfg.cache_dir
        )

    outputs: Outputs = {checkpoint: {"student": {}, "teacher": {}}}
    score = functools.partial(
        _score, datasets=datasets, data=data, cfg=cfg, norm=norm, device=device
    )
    evaluation = (
        "complete"
        if cfg.eval_max_samples is None
        else f"truncated: at most {cfg.eval_max_samples} samples per split"
    )
    kinds = {n: dataset_provenance(data[n]) for n in datasets}
    provenance = {
        "datasets": kinds,
        "backbone": weights_provenance(cfg.backbone, cfg.weights),
        "evaluation": evaluation,
        "checks": {n: same_splits_check(n, data[n]) for n in datasets if kinds[n] == "same-splits"},
    }
    # the rate a constant prediction reaches
    majority = {
        n: majority_accuracy(get_info(n).task, data[n]["train"].labels, data[n]["test"].labels)
        for n in datasets
        if "train" in data[n]
    }
    results: Dict[str, Any] = {
        **score(model, outputs[checkpoint]["student"]),
        "teacher": score(teacher, outputs[checkpoint]["teacher"]),
        "provenance": provenance,
        "majority": majority,
        "routing": dict(model.routing),
        "params": parameter_report(model),
        "config": cfg.to_dict(),
        "checkpoint": checkpoint,
        "best_round": int(run.meta.get("round", -1)),
        "environment": environment_info(),
    }
    if has_mixing(
        model
    ):  # mos-soft's router, gmoe's gate: the mean weight of each expert per dataset
        results["mixing_weights"] = {}
        for n in datasets:
            x, _ = next(iter_batches(data[n]["val"], cfg.eval_batch_size))
            results["mixing_weights"][n] = mixing_summary(
                model, prepare(model, n, x, norm, device), n
            )
    if wall_time_s is not None:
        results["wall_time_s"] = round(wall_time_s, 1)
    elif (run_dir / "results.json").exists():  # a damaged one is what `eval` re-creates
        with contextlib.suppress(ValueError):
            results["wall_time_s"] = load_results(run_dir).get("wall_time_s")
    output = output or evaluation_name(checkpoint, overrides)
    if output != "results":
        results["evaluation"] = {
            "checkpoint": checkpoint,
            "overrides": dict(overrides or {}),
            "truncated": cfg.eval_max_samples is not None,
        }
    if output == "results" and checkpoint != "last" and (run_dir / "last.safetensors").is_file():
        results["last"], outputs["last"] = _score_last_round(
            run, results, outputs[checkpoint], score, overrides, device
        )
    if dist.is_main():
        # first: a results.json never stands without its outputs
        write_outputs(run_dir, outputs, output, results["config"])
        write_results(run_dir, results, output)
    return results


def _score(
    net: MosaicModel,
    outputs: Dict[str, Any],
    datasets,
    data,
    cfg: Config,
    norm: Normalization,
    device,
) -> Dict[str, Any]:
    """Scores of ``net`` on val and test (test with bootstrap intervals); per-sample outputs into
    ``outputs``."""
    per_split = {}
    for split in ("val", "test"):
        got: Dict[str, Any] = {}
        per_split[split] = evaluate(
            net,
            {n: data[n][split] for n in datasets},
            norm,
            device,
            cfg.eval_batch_size,
            cfg.eval_max_samples,
            cfg.amp,
            ci=split == "test",
            outputs=got,
        )
        for n, pair in got.items():
            outputs.setdefault(n, {})[split] = pair
    return {
        "datasets": {n: {split: per_split[split][n] for split in per_split} for n in datasets},
        "mean": summarize(per_split["test"]),
        "mean_val": summarize(per_split["val"]),
    }


def _score_last_round(
    run: LoadedRun, results: Dict[str, Any], best_outputs, score, overrides, device
):
    """The last round's checkpoint scored like the reported one: its validation score is the one
    to choose on (not a maximum over rounds, so not optimistic). Reuses the reported scores when
    it is the same round."""
    # rounds done -> index
    last_round = int(load_tensors(run.run_dir / "last.safetensors")[1].get("round", 0)) - 1
    if last_round == results["best_round"]:
        same = {k: results[k] for k in ("datasets", "mean", "mean_val")}
        return {
            **copy.deepcopy(same),
            "teacher": copy.deepcopy(results["teacher"]),
            "round": last_round,
        }, best_outputs
    last = load_run(run.run_dir, "last", overrides)
    outputs: Dict[str, Any] = {"student": {}, "teacher": {}}
    scored = {
        **score(last.model.to(device), outputs["student"]),
        "teacher": score(last.teacher.to(device), outputs["teacher"]),
        "round": last_round,
    }
    return scored, outputs
