"""Experiment tracking: every row of ``metrics.jsonl`` also goes to TensorBoard or MLflow (rank 0
only).

``tracker=tensorboard`` (the default) writes event files to ``RUN/tensorboard``;
``tracker=mlflow`` logs to ``MLFLOW_TRACKING_URI`` or, without it, to a local SQLite store
``RUN/mlflow.db`` with artifacts in ``RUN/mlartifacts`` (experiment ``MLFLOW_EXPERIMENT_NAME`` or
``mosaic_kit``); ``tracker=none`` writes only ``metrics.jsonl``. Logged: training loss, task
loss, consistency and lr per step (``train/*``), the mean and per-dataset validation accuracy per
round (``val/*``), the experts' mean gate weights per round where the method has a gate
(``gate/DATASET/EXPERT``: ``mos-soft``'s router load, ``gmoe``'s gate), the configuration
(TensorBoard hparams / MLflow params), the final test table as text with its means, and the run's
figures as images. Where a run's tracking lives is kept in ``RUN/tracking.json``, so
``save_run_figures`` and a resumed run add to it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..utils.json_file import read_json_object
from .mlflow_tracker import MlflowTracker
from .tracker import TRACKERS, Tracker, scalars, test_scalars

__all__ = ["TRACKERS", "Tracker", "open_tracker", "log_figures"]


class TensorBoardTracker(Tracker):
    def __init__(
        self, run_dir: Path, config: Dict[str, Any], purge_step: Optional[int] = None
    ) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.logdir = run_dir / "tensorboard"
        self.config = config
        # a resume drops what it re-runs
        self.w = SummaryWriter(str(self.logdir), purge_step=purge_step)
        if purge_step is None and config:
            self.w.add_text("config", "\n".join(f"    {k}: {v}" for k, v in config.items()), 0)

    def row(self, row: Dict[str, Any]) -> None:
        for name, value in scalars(row).items():
            self.w.add_scalar(name, value, int(row["step"]))
        if row.get("kind") == "round":
            self.w.flush()

    def finish(self, results: Dict[str, Any], table_md: str) -> None:
        step = max(int(results.get("config", {}).get("rounds", 0)), 0)
        self.w.add_text("results", table_md, step)
        metrics = test_scalars(results)
        hp = {
            k: (v if isinstance(v, (int, float, str, bool)) else json.dumps(v))
            for k, v in self.config.items()
            if v is not None
        }
        self.w.add_hparams(hp, metrics, run_name=".")
        self.w.flush()

    def figures(self, paths: List[Path]) -> None:
        import numpy as np
        from PIL import Image

        for p in paths:
            img = np.asarray(Image.open(p).convert("RGB"))
            self.w.add_image(f"figures/{p.stem}", img, 0, dataformats="HWC")
        self.w.flush()

    def close(self) -> None:
        self.w.close()


def _stored(path: Path) -> Dict[str, Any]:
    """What ``tracking.json`` says of a run's tracker ({} where there is none)."""
    return read_json_object(
        path,
        "Delete it (a resumed run keeps its TensorBoard log and starts a new MLflow run; its "
        "checkpoints, metrics.jsonl and results do not depend on it).",
        missing={},
    )


def open_tracker(
    kind: str, run_dir: Path, config: Dict[str, Any], resume_step: Optional[int] = None
) -> Tracker:
    """The tracker of a run (``kind`` from ``cfg.tracker``); a resumed run continues the same
    TensorBoard log (events from ``resume_step + 1`` on are purged and re-written) or MLflow run."""
    run_dir = Path(run_dir)
    stored_file = run_dir / "tracking.json"
    stored = _stored(stored_file) if resume_step is not None else {}
    try:
        if kind == "tensorboard":
            tracker: Tracker = TensorBoardTracker(
                run_dir, config, None if resume_step is None else resume_step + 1
            )
            stored_file.write_text(json.dumps({"tracker": kind, "logdir": str(tracker.logdir)}))
        elif kind == "mlflow":
            tracker = MlflowTracker(run_dir, config, stored.get("run_id"), stored.get("uri"))
            stored_file.write_text(
                json.dumps({"tracker": kind, "run_id": tracker.run_id, "uri": tracker.uri})
            )
        else:
            tracker = Tracker()
    except ImportError as err:
        raise RuntimeError(
            f"tracker={kind} needs {err.name}: pip install 'mosaic_kit[tracking]' (or "
            "tensorboard), or set tracker=none."
        ) from None
    return tracker


def log_figures(run_dir: str | Path, paths: List[Path]) -> None:
    """Add a run's figures to its tracking (if it has any): TensorBoard images or MLflow
    artifacts."""
    stored = _stored(Path(run_dir) / "tracking.json")
    if stored.get("tracker") == "tensorboard":
        tracker: Tracker = TensorBoardTracker(Path(run_dir), {}, purge_step=None)
    elif stored.get("tracker") == "mlflow":
        tracker = MlflowTracker(Path(run_dir), {}, stored["run_id"], stored["uri"])
    else:
        return
    tracker.figures(paths)
    tracker.close()
