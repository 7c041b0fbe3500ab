"""A finished (or interrupted) run directory: rebuild its models, and score a checkpoint on val
and test."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from ..config import Config, load_config
from ..data import Normalization
from ..methods import (
    build_model,
    upgrade_method,
    upgrade_names,
)
from ..models.mosaic import MosaicModel, frozen_shared_copy
from ..models.parameters import frozen_fingerprint
from ..utils.checkpoint import load_into, load_tensors
from .config_check import read_run_config
from .locate import resolve_run, verify_bundle, weights_check

__all__ = [
    "LoadedRun",
    "load_run",
    "run_overrides",
    "run_config",
    "list_checkpoints",
]


def list_checkpoints(run_dir: str | Path) -> list:
    """Checkpoint names (``best``, ``last``) present in a run directory."""
    return [p.stem for p in sorted(Path(run_dir).glob("*.safetensors"))]


@dataclass
class LoadedRun:
    """A run rebuilt from its directory: configuration, student and EMA teacher, input
    normalisation."""

    cfg: Config
    model: MosaicModel
    teacher: MosaicModel
    norm: Normalization
    meta: Dict[str, str]  # the checkpoint's metadata (method, round, ...)
    run_dir: Path
    checkpoint: str


def run_overrides(run_dir: Path, overrides: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """``overrides`` plus, for a run on datasets of your own, the specs it stored
    (``RUN/datasets/*.yaml``) in place of the original spec files, which may have moved."""
    stored = sorted(str(p) for p in (Path(run_dir) / "datasets").glob("*.yaml"))
    return {**({"custom_datasets": stored} if stored else {}), **(overrides or {})}


def run_config(run_dir: str | Path, overrides: Optional[Dict[str, Any]] = None) -> Config:
    """The configuration a run trained with (its ``config.yaml``, checked against its
    ``results.json``, with ``overrides``)."""
    run_dir = resolve_run(run_dir)
    read_run_config(run_dir)  # refused where it is empty or disagrees with what the run recorded
    return load_config(
        file=str(run_dir / "config.yaml"), overrides=run_overrides(run_dir, overrides)
    )


def load_run(
    run_dir: str | Path, checkpoint: str = "best", overrides: Optional[Dict[str, Any]] = None
) -> LoadedRun:
    """Rebuild a run's models from ``config.yaml`` and ``{checkpoint}.safetensors``; the frozen
    backbone is rebuilt from the configuration and checked against the checkpoint's fingerprint."""
    run_dir = resolve_run(run_dir)
    if not (run_dir / "config.yaml").exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.yaml).")
    verify_bundle(run_dir)
    weights_check(run_dir, (overrides or {}).get("weights"))
    path = run_dir / f"{checkpoint}.safetensors"
    groups, meta = load_tensors(path)
    cfg = run_config(run_dir, overrides)
    if (
        upgrade_method(cfg.method, meta) != cfg.method
    ):  # a run of an older layout: its method's name today
        cfg = dataclasses.replace(cfg, method=upgrade_method(cfg.method, meta))
    if upgrade_method(meta.get("method", cfg.method), meta) != cfg.method:
        raise ValueError(
            f"{path} was written by method '{meta.get('method')}', the config says '{cfg.method}'."
        )
    model, norm = build_model(cfg)
    if meta.get("frozen_fingerprint") not in (None, frozen_fingerprint(model)):
        raise ValueError(
            f"{path} was trained on other frozen backbone weights than the ones rebuilt now "
            f"(backbone={cfg.backbone}, weights={cfg.weights}, seed={cfg.seed}); point `weights` "
            "at the file the run used."
        )
    load_into(model, upgrade_names(cfg.method, groups["student"], meta), "student")
    teacher = frozen_shared_copy(model)
    load_into(teacher, upgrade_names(cfg.method, groups["teacher"], meta), "teacher")
    return LoadedRun(cfg, model, teacher, norm, meta, run_dir, checkpoint)
