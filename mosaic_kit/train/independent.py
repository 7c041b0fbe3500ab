"""``independent=true``: one single-task model per dataset, then one merged result."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import yaml
from tqdm import tqdm

from ..config import Config
from ..data.registry import resolve_datasets
from ..data.specs import write_run_datasets
from ..evaluation.evaluate import summarize
from ..evaluation.outputs import load_outputs, write_outputs
from ..evaluation.results import load_results, write_results
from ..utils import distributed as dist
from ..utils.environment import environment_info
from .loop import train_joint

__all__ = ["train_independent"]


def train_independent(
    cfg: Config,
    resume: bool = False,
    progress: bool = True,
    on_round: Optional[Callable[[Path], None]] = None,
) -> Path:
    """One single-task model per dataset in ``{out}/{dataset}``, then one merged ``results.json``
    in ``out`` (trainable parameters summed over the models). Finished datasets are skipped, so
    rerunning (or ``resume``) continues an interrupted sweep."""
    names = resolve_datasets(cfg.datasets)
    unknown = sorted(set(cfg.lr_per_dataset) - set(names))
    if unknown:
        raise ValueError(
            f"lr_per_dataset names {', '.join(unknown)}, not among this run's datasets "
            f"({', '.join(names)}); give a learning rate only for datasets the run trains"
        )
    run_dir = Path(cfg.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    if dist.is_main():
        (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        write_run_datasets(run_dir, names)
    t0 = time.time()
    parts: Dict[str, Dict[str, Any]] = {}
    for name in names:
        sub = dataclasses.replace(
            cfg,
            datasets=[name],
            independent=False,
            out=str(run_dir / name),
            lr=cfg.lr_per_dataset.get(name, cfg.lr),
            lr_per_dataset={},
        )
        if not (Path(sub.out) / "results.json").exists():
            if progress:
                tqdm.write(f"independent: training {name}")
            train_joint(
                sub,
                resume=resume and (Path(sub.out) / "last_state.pt").exists(),
                progress=progress,
                on_round=on_round,
            )
        parts[name] = load_results(sub.out)

    def merged(which: Optional[str], checkpoint: Optional[str] = None) -> Dict[str, Any]:
        per = {
            n: (
                (r if checkpoint is None else r[checkpoint])
                if which is None
                else (r if checkpoint is None else r[checkpoint])[which]
            )["datasets"][n]
            for n, r in parts.items()
        }
        return {
            "datasets": per,
            "mean": summarize({n: v["test"] for n, v in per.items()}),
            "mean_val": summarize({n: v["val"] for n, v in per.items()}),
        }

    provs = [r.get("provenance") for r in parts.values()]
    provenance = (
        None
        if None in provs
        else {
            "datasets": {n: k for p in provs for n, k in p["datasets"].items()},
            "backbone": provs[0]["backbone"],
            "evaluation": "complete"
            if all(p["evaluation"] == "complete" for p in provs)
            else provs[0]["evaluation"],
            # what each model's own run checked of a same-splits file
            "checks": {n: c for p in provs for n, c in (p.get("checks") or {}).items()},
        }
    )
    results: Dict[str, Any] = {
        **merged(None),
        "teacher": merged("teacher"),
        "provenance": provenance,
        "majority": {n: v for r in parts.values() for n, v in (r.get("majority") or {}).items()},
        "routing": {n: r["routing"][n] for n, r in parts.items()},
        "params": {
            "trainable": sum(r["params"]["trainable"] for r in parts.values()),
            "total": sum(r["params"]["total"] for r in parts.values()),
            "models": len(parts),
            "per_model": {n: r["params"]["trainable"] for n, r in parts.items()},
        },
        "config": cfg.to_dict(),
        "independent": True,
        "environment": environment_info(),
        "wall_time_s": round(sum(r.get("wall_time_s") or 0.0 for r in parts.values()), 1),
    }
    if all("last" in r for r in parts.values()):  # each model's last round: the score to choose on
        results["last"] = {**merged(None, "last"), "teacher": merged("teacher", "last")}
    if dist.is_main():
        outputs: Dict[str, Any] = {}
        for name in parts:  # every model's per-sample outputs, for paired comparisons
            for ckpt, nets in load_outputs(run_dir / name).items():
                for net, per in nets.items():
                    outputs.setdefault(ckpt, {}).setdefault(net, {})[name] = per[name]
        write_outputs(run_dir, outputs, config=results["config"])
        write_results(run_dir, results)
    if progress and dist.is_main():
        tqdm.write(
            f"independent: {len(parts)} models, merged results in {run_dir} "
            f"({time.time() - t0:.0f} s)"
        )
    return run_dir
