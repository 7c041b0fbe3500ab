"""The MLflow tracker: a run's rows, final scores, table and figures in an MLflow store
(tracker=mlflow)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional

from .tracker import Tracker, scalars, test_scalars

__all__ = ["MlflowTracker"]


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
