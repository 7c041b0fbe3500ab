"""What a tracker receives: a step's or a round's row as flat scalars, the final test scores, and
the do-nothing base every tracker extends."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

__all__ = ["TRACKERS", "scalars", "test_scalars", "Tracker"]


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
