"""The run's ``metrics.jsonl``: one JSON line per step and per round, written by rank 0 only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

__all__ = ["RunLog", "read_log"]


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


def read_log(path: str | Path) -> List[Dict[str, Any]]:
    """The rows of a ``metrics.jsonl``. A last line without its newline is a row the writer had not
    finished (a killed run, or one still writing) and is left out; any other line that is not a
    row (a JSON object with ``kind`` and ``step``) is refused by its number."""
    path = Path(path)
    text = path.read_text(errors="replace")
    lines = text.split("\n")
    rows: List[Dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if isinstance(row, dict) and "kind" in row and isinstance(row.get("step"), int):
            rows.append(row)
        elif number == len(lines):  # no newline after it: the writer stopped mid-row
            break
        else:
            raise ValueError(
                f"{path}: line {number} is not a log row ({line[:80]!r}); the log was edited or "
                "damaged. Restore it, or delete that line (the run's checkpoints and results do "
                "not depend on it; only its curves do)."
            )
    return rows
