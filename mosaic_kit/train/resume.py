"""What a resumed run may change: how long it still trains, how it logs and where it runs;
nothing that defines the experiment. The configuration a run started with is stored in its resume
state and compared before any step."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

from ..config import Config
from ..config.keys import RESUMABLE

__all__ = ["RESUMABLE", "resume_changes"]


def resume_changes(
    stored: Mapping[str, Any], cfg: Config, run_dir: str
) -> Dict[str, Tuple[Any, Any]]:
    """``{key: (stored, new)}`` of the allowed changes; refuses (before anything trains) any
    other difference."""
    new = cfg.to_dict()
    diff = {
        k: (stored.get(k), new.get(k))
        for k in sorted(set(stored) | set(new))
        if stored.get(k) != new.get(k)
    }
    refused = {k: v for k, v in diff.items() if k not in RESUMABLE}
    if refused:
        lines = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in refused.items())
        raise ValueError(
            f"Cannot resume {run_dir} with another experiment: {lines}. These keys define the run "
            f"(only {', '.join(RESUMABLE)} may change on resume); restore them in config.yaml / "
            "drop the --set, or start a new run with another --out."
        )
    return {k: v for k, v in diff.items() if k != "out"}
