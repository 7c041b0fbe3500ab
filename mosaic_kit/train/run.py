"""``train(cfg)``: one joint run (``loop``), or with ``independent=true`` one single-task model
per dataset (``independent``)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from ..config import Config
from ..config.paths import with_absolute_paths
from ..utils.atomic import WriteError
from .independent import train_independent
from .loop import train_joint

__all__ = ["train"]


def train(
    cfg: Config,
    resume: bool = False,
    progress: bool = True,
    stop_after_rounds: Optional[int] = None,
    on_round: Optional[Callable[[Path], None]] = None,
) -> Path:
    """Train as ``cfg`` says; returns the run directory (``cfg.out``).

    ``on_round(run_dir)`` is called after every round's log row and checkpoints are written (the
    notebooks redraw their live curves from ``metrics.jsonl`` there). ``stop_after_rounds`` ends
    this call after that many rounds, checkpointed but not evaluated, as an interrupted run would
    be (resume it with ``resume=True``). ``independent=true`` trains one single-task model per
    dataset instead (``independent.train_independent``).
    """
    # config.yaml records where the data and weights are, from any folder
    cfg = with_absolute_paths(cfg)
    try:
        if cfg.independent:
            return train_independent(cfg, resume, progress, on_round)
        return train_joint(cfg, resume, progress, stop_after_rounds, on_round)
    except WriteError as err:  # the last complete checkpoint is kept: say how to go on from it
        raise WriteError(err.errno, f"{err} Resume with `train --resume {cfg.out}`.") from None
