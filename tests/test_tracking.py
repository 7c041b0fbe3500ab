"""Experiment tracking: TensorBoard event files and an MLflow store hold what metrics.jsonl
holds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_cfg

from mosaic_kit.train import train
from mosaic_kit.viz.run_figures import save_run_figures

DATASETS = ["breastmnist", "adrenalmnist3d"]


def _rows(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_tensorboard_events_equal_the_metrics_log(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = train(
        tiny_cfg(tmp_path, datasets=DATASETS, rounds=2, tracker="tensorboard", eval_max_samples=32),
        progress=False,
    )
    rows = _rows(run)
    save_run_figures(run)
    acc = EventAccumulator(
        str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0, "tensors": 0}
    )
    acc.Reload()
    steps = [r for r in rows if r["kind"] == "step"]
    loss = acc.Scalars("train/loss")
    assert [e.step for e in loss] == [r["step"] for r in steps]
    assert [e.value for e in loss] == pytest.approx([r["loss"] for r in steps], rel=1e-6)
    assert [e.value for e in acc.Scalars("train/lr")] == pytest.approx(
        [r["lr"] for r in steps], rel=1e-6
    )
    rounds = [r for r in rows if r["kind"] == "round"]
    assert [e.value for e in acc.Scalars("val/acc/all")] == pytest.approx(
        [r["val_acc"] for r in rounds]
    )
    assert [e.value for e in acc.Scalars("val/auc/all")] == pytest.approx(
        [r["val_auc"] for r in rounds]
    )
    assert [e.value for e in acc.Scalars("val/auc/breastmnist")] == pytest.approx(
        [r["val_auc_by_dataset"]["breastmnist"] for r in rounds]
    )
    assert [e.value for e in acc.Scalars("val/acc/adrenalmnist3d")] == pytest.approx(
        [r["val"]["adrenalmnist3d"] for r in rounds]
    )
    assert {"figures/curves", "figures/test_scores"} <= set(acc.Tags()["images"])
    assert (
        "results/text_summary" in acc.Tags()["tensors"]
        and "config/text_summary" in acc.Tags()["tensors"]
    )


def test_tensorboard_resume_rewrites_what_it_reruns(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny_cfg(
        tmp_path, datasets=["breastmnist"], rounds=3, tracker="tensorboard", eval_max_samples=32
    )
    train(cfg, progress=False, stop_after_rounds=1)
    run = train(cfg, resume=True, progress=False)
    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    steps = [r["step"] for r in _rows(run) if r["kind"] == "step"]
    assert [e.step for e in acc.Scalars("train/loss")] == steps == list(range(1, 10))


def test_mlflow_store_equals_the_metrics_log(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run = train(
        tiny_cfg(tmp_path, datasets=DATASETS, rounds=2, tracker="mlflow", eval_max_samples=32),
        progress=False,
    )
    save_run_figures(run)
    stored = json.loads((run / "tracking.json").read_text())
    client = MlflowClient(stored["uri"])
    rows = _rows(run)
    history = client.get_metric_history(stored["run_id"], "train/loss")
    steps = [r for r in rows if r["kind"] == "step"]
    history = sorted(history, key=lambda m: m.step)
    assert [m.step for m in history] == [r["step"] for r in steps]
    assert [m.value for m in history] == pytest.approx([r["loss"] for r in steps])
    rounds = [r for r in rows if r["kind"] == "round"]
    val = client.get_metric_history(stored["run_id"], "val/acc/breastmnist")
    assert [m.value for m in sorted(val, key=lambda m: m.step)] == pytest.approx(
        [r["val"]["breastmnist"] for r in rounds]
    )
    data = client.get_run(stored["run_id"]).data
    results = json.loads((run / "results.json").read_text())
    assert data.params["lr"] == str(results["config"]["lr"]) and data.params["method"] == "mos"
    # as TensorBoard names it
    assert data.metrics["test/acc/all"] == pytest.approx(results["mean"]["all"]["acc"])
    auc = sorted(client.get_metric_history(stored["run_id"], "val/auc/all"), key=lambda m: m.step)
    assert [m.value for m in auc] == pytest.approx([r["val_auc"] for r in rounds])
    artifacts = {a.path for a in client.list_artifacts(stored["run_id"])}
    assert {"results.md", "results.json", "config.yaml", "figures"} <= artifacts
    assert {a.path for a in client.list_artifacts(stored["run_id"], "figures")} == {
        "figures/curves.png",
        "figures/test_scores.png",
    }
    # the logged model loads back and predicts as the run does
    import mosaic_kit

    model_dir = Path(
        client.download_artifacts(stored["run_id"], "model", str(tmp_path / "fetched"))
    )
    x = np.full((28, 28), 100, np.uint8)
    fetched = mosaic_kit.load(model_dir).predict(x, dataset="breastmnist")[0]
    assert fetched.probabilities == pytest.approx(
        mosaic_kit.load(run).predict(x, dataset="breastmnist")[0].probabilities, abs=1e-6
    )


def test_no_tracker_and_a_bad_tracker_name(tmp_path):
    run = train(
        tiny_cfg(tmp_path, datasets=["breastmnist"], rounds=1, tracker="none", eval_max_samples=16),
        progress=False,
    )
    assert not (run / "tensorboard").exists() and not (run / "mlflow.db").exists()
    with pytest.raises(ValueError, match="tracker must be one of tensorboard, mlflow, none"):
        tiny_cfg(tmp_path, tracker="wandb")


def test_gate_weights_per_round_for_a_method_with_a_router(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = train(
        tiny_cfg(tmp_path, datasets=DATASETS, rounds=2, method="mos-soft", eval_max_samples=32),
        progress=False,
    )
    gates = [r for r in _rows(run) if r["kind"] == "gate"]
    assert [g["round"] for g in gates] == [0, 1]
    assert set(gates[0]["weights"]["breastmnist"]) == {"A", "B", "C"}
    assert sum(gates[0]["weights"]["breastmnist"].values()) == pytest.approx(1, abs=1e-3)
    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    assert [e.value for e in acc.Scalars("gate/breastmnist/B")] == pytest.approx(
        [g["weights"]["breastmnist"]["B"] for g in gates]
    )
