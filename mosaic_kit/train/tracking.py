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
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

__all__ = ["TRACKERS", "Tracker", "open_tracker", "log_figures"]

TRACKERS = ("tensorboard", "mlflow", "none")


def _flat(prefix: str, value: Any) -> Dict[str, float]:
    if isinstance(value, dict):
        return {
            k: v for key, sub in value.items() for k, v in _flat(f"{prefix}/{key}", sub).items()
        }
    return (
        {prefix: float(value)}
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else {}
    )


def scalars(row: Dict[str, Any]) -> Dict[str, float]:
    """The scalars a ``metrics.jsonl`` row becomes (names as TensorBoard / MLflow show them)."""
    if row.get("kind") == "step":
        return {
            f"train/{k}": float(row[k])
            for k in ("loss", "task_loss", "consistency", "lr")
            if k in row
        }
    if (
        row.get("kind") == "round"
    ):  # one naming for every tracker: {split}/{metric}/{dataset or group}
        out = {
            "val/round": float(row["round"] + 1),
            "val/acc/all": float(row["val_acc"]),
            **_flat("val/acc", row.get("val", {})),
            **_flat("val/auc", row.get("val_auc_by_dataset", {})),
        }
        return (
            {**out, "val/auc/all": float(row["val_auc"])} if row.get("val_auc") is not None else out
        )
    if row.get("kind") == "gate":
        return _flat("gate", row.get("weights", {}))
    if row.get("kind") == "skip":
        return {"train/skipped_step": 1.0}
    return {}


def test_scalars(results: Dict[str, Any]) -> Dict[str, float]:
    """The final test means as every tracker names them: ``test/acc/all``, ``test/auc/2d``, ..."""
    return {
        f"test/{m}/{g}": float(results["mean"][g][m])
        for g in results["mean"]
        for m in ("acc", "auc")
        if m in results["mean"][g]
    }


class Tracker:
    """Receives what the trainer logs; this base class keeps nothing (``tracker=none``)."""

    def row(self, row: Dict[str, Any]) -> None:
        pass

    def finish(self, results: Dict[str, Any], table_md: str) -> None:
        pass

    def figures(self, paths: List[Path]) -> None:
        pass

    def close(self) -> None:
        pass


class TensorBoardTracker(Tracker):
    def __init__(
        self, run_dir: Path, config: Dict[str, Any], purge_step: Optional[int] = None
    ) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.logdir = run_dir / "tensorboard"
        self.config = config
        self.w = SummaryWriter(
            str(self.logdir), purge_step=purge_step
        )  # a resume drops what it re-runs
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


class MlflowTracker(Tracker):
    def __init__(
        self,
        run_dir: Path,
        config: Dict[str, Any],
        run_id: Optional[str] = None,
        uri: Optional[str] = None,
    ) -> None:
        from mlflow.tracking import MlflowClient

        # MLflow's own default kind of local store
        local = f"sqlite:///{(run_dir / 'mlflow.db').resolve()}"
        self.uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or local
        self.client = MlflowClient(self.uri)
        self.run_dir = run_dir
        if run_id is None:
            name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "mosaic_kit")
            exp = self.client.get_experiment_by_name(name)
            where = (run_dir / "mlartifacts").resolve().as_uri() if self.uri == local else None
            exp_id = (
                exp.experiment_id
                if exp
                else self.client.create_experiment(name, artifact_location=where)
            )
            run_id = self.client.create_run(exp_id, run_name=str(run_dir.name)).info.run_id
            from mlflow.entities import Param

            params = [Param(k, str(v)[:6000]) for k, v in config.items()]
            for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
                self.client.log_batch(run_id, params=params[i : i + 100])
        self.run_id = run_id
        self._pending: list = []

    def row(self, row: Dict[str, Any]) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._pending += [Metric(k, v, now, int(row["step"])) for k, v in scalars(row).items()]
        if row.get("kind") == "round" or len(self._pending) >= 500:
            self.flush()

    def flush(self) -> None:
        for i in range(0, len(self._pending), 1000):
            self.client.log_batch(self.run_id, metrics=self._pending[i : i + 1000])
        self._pending = []

    def finish(self, results: Dict[str, Any], table_md: str) -> None:
        self.flush()
        step = int(results.get("config", {}).get("rounds", 0))
        for name, value in test_scalars(results).items():
            self.client.log_metric(self.run_id, name, value, step=step)
        self.client.log_text(self.run_id, table_md, "results.md")
        for name in ("results.json", "config.yaml"):
            if (self.run_dir / name).is_file():
                self.client.log_artifact(self.run_id, str(self.run_dir / name))
        # the model: what `mosaic_kit.load` needs (trainable tensors, configuration, results; own
        # datasets' specs)
        for name in ("best.safetensors", "config.yaml", "results.json"):
            if (self.run_dir / name).is_file():
                self.client.log_artifact(self.run_id, str(self.run_dir / name), "model")
        if (self.run_dir / "datasets").is_dir():
            self.client.log_artifacts(self.run_id, str(self.run_dir / "datasets"), "model/datasets")

    def figures(self, paths: List[Path]) -> None:
        for p in paths:
            self.client.log_artifact(self.run_id, str(p), "figures")

    def close(self) -> None:
        self.flush()
        self.client.set_terminated(self.run_id)


def open_tracker(
    kind: str, run_dir: Path, config: Dict[str, Any], resume_step: Optional[int] = None
) -> Tracker:
    """The tracker of a run (``kind`` from ``cfg.tracker``); a resumed run continues the same
    TensorBoard log (events from ``resume_step + 1`` on are purged and re-written) or MLflow run."""
    run_dir = Path(run_dir)
    stored_file = run_dir / "tracking.json"
    stored = (
        json.loads(stored_file.read_text())
        if resume_step is not None and stored_file.is_file()
        else {}
    )
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
    stored_file = Path(run_dir) / "tracking.json"
    if not stored_file.is_file():
        return
    stored = json.loads(stored_file.read_text())
    if stored.get("tracker") == "tensorboard":
        tracker: Tracker = TensorBoardTracker(Path(run_dir), {}, purge_step=None)
    elif stored.get("tracker") == "mlflow":
        tracker = MlflowTracker(Path(run_dir), {}, stored["run_id"], stored["uri"])
    else:
        return
    tracker.figures(paths)
    tracker.close()
