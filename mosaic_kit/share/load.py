"""``mosaic_kit.load(run)``: a run directory, a bundle or a Hub bundle as a Predictor, with the
right weights and the datasets it knows."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

from ..data.registry import resolve_datasets
from ..evaluation.locate import resolve_run
from ..evaluation.runs import load_run, run_config
from ..models.mosaic import MosaicModel
from ..utils.distributed import resolve_device
from .predict import Predictor, _pick

__all__ = ["load"]


def load(
    run_dir: str | Path,
    checkpoint: str = "best",
    which: str = "student",
    device: str = "cpu",
    weights: Optional[str] = None,
) -> Predictor:
    """A ``Predictor`` for a run directory: the ``checkpoint`` (``best`` or ``last``) of its
    student (or EMA ``teacher``). ``weights`` points at the backbone weights file when it has
    moved since training."""
    run_dir = resolve_run(run_dir)  # a run or bundle folder, or hf:OWNER/NAME
    overrides = {"weights": weights} if weights else None
    dev = resolve_device(device)
    cfg = run_config(run_dir, overrides)
    datasets = resolve_datasets(cfg.datasets)
    if (
        cfg.independent
    ):  # one model per dataset, each in its own folder: loaded when first asked for
        first = load_run(run_dir / datasets[0], checkpoint, overrides)
        models: Dict[str, Optional[MosaicModel]] = {n: None for n in datasets}
        models[datasets[0]] = _pick(first, which).to(dev).eval()
        return Predictor(
            first.cfg,
            models,
            first.norm,
            dev,
            f"{run_dir} ({checkpoint} checkpoints, {which})",
            run_dir,
            checkpoint,
            which,
            overrides,
        )
    run = load_run(run_dir, checkpoint, overrides)
    model = _pick(run, which).to(dev).eval()
    return Predictor(
        run.cfg,
        {n: model for n in model.routing},
        run.norm,
        dev,
        f"{run_dir} ({checkpoint} checkpoint, {which})",
        run_dir,
        checkpoint,
        which,
        overrides,
    )
