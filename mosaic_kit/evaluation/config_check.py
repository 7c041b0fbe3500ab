"""A run's ``config.yaml`` against the configuration its ``results.json`` recorded.

Everything that reloads a run (``eval``, ``predict``, ``export``, ``bundle``, the notebooks)
rebuilds the model from ``config.yaml``. A file edited by hand, or cut short by a killed copy, would
rebuild another model (another ``adapter_scale``, another input normalisation, defaults in place of
the lost keys) and score it as this run's. The configuration the run trained with is also recorded
in its ``results.json``; the two must agree on every key that defines the experiment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..config.core import path_keys
from ..config.keys import RESUMABLE
from ..utils.yaml_mapping import read_yaml_mapping

__all__ = ["read_run_config", "free_keys"]


def free_keys() -> frozenset:
    """Keys that may differ from the recorded ones: where the run's files live, how it ran and
    logged, and what a resume may change (``rounds``, ``patience``, ...)."""
    return frozenset(RESUMABLE) | frozenset(path_keys()) | {"tracker"}


def _recorded(run_dir: Path) -> Optional[Dict[str, Any]]:
    """The ``config`` of ``RUN/results.json``; None where there is no readable one (an interrupted
    run, or a damaged results file that ``eval`` is about to re-create: it is checked where it is
    read as results)."""
    path = run_dir / "results.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    config = data.get("config") if isinstance(data, dict) else None
    return config if isinstance(config, dict) and config else None


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def read_run_config(run_dir: str | Path) -> Dict[str, Any]:
    """The mapping in ``RUN/config.yaml``, refused where it is empty or where it disagrees with the
    configuration ``RUN/results.json`` recorded (a key missing, or another value)."""
    run_dir = Path(run_dir)
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.yaml).")
    data = read_yaml_mapping(path, "run configuration")
    recorded = _recorded(run_dir)
    restore = (
        "restore it (results.json's `config` holds what the run trained with); to evaluate the "
        "run otherwise, leave the file as it was and pass `--set KEY=VALUE`"
    )
    if not data:
        raise ValueError(
            f"{path} is empty: a run's config.yaml names every key it trained with; "
            + (restore if recorded else "restore it from a copy of the run")
            + "."
        )
    if recorded is None:
        return data
    free = free_keys()
    missing: List[str] = [k for k in recorded if k not in data and k not in free]
    changed = [
        f"{k}: {data[k]!r} (the run trained with {recorded[k]!r})"
        for k in recorded
        if k in data and k not in free and _text(data[k]) != _text(recorded[k])
    ]
    if missing:
        shown = ", ".join(missing[:8]) + (
            f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        )
        raise ValueError(
            f"{path} lacks keys the run trained with ({shown}): it was cut short or edited, and "
            f"would rebuild the model with defaults in their place; {restore}."
        )
    if changed:
        raise ValueError(
            f"{path} was edited: it differs from the configuration the run trained with: "
            f"{'; '.join(changed)}. "
            "It would rebuild or score the run otherwise than it trained and report that as this "
            f"run's; {restore}."
        )
    return data
