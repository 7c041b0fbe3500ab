"""The run's ``metrics.jsonl``: one JSON line per step and per round, written by rank 0 only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

__all__ = ["RunLog"]


class RunLog:
    """Append-only JSON-lines log, flushed per line (``path=None``: writes nothing, as on ranks
    other than 0); every row also goes to ``tracker`` (TensorBoard, MLflow) when one is given."""

    def __init__(self, path: Optional[Path], tracker: Any = None) -> None:
        self.fh = open(path, "a", buffering=1) if path is not None else None
        self.tracker = tracker

    def write(self, **row: Any) -> None:
        if self.fh is not None:
            self.fh.write(json.dumps(row) + "\n")
            if self.tracker is not None:
                self.tracker.row(row)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
