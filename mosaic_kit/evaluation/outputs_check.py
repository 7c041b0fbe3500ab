"""Whether a run folder's per-sample outputs (``predictions.npz``) are the ones its ``results.json``
was computed from.

Every paired verdict is computed from per-sample outputs, so outputs copied in from another run (an
other seed of the same configuration, say) would pair the wrong samples and still look plausible.
Two checks, before any comparison: the file's fingerprint (seed and configuration hash, written
since the kit wrote one) must be the run's own, and the scores ``results.json`` records (ACC and
AUC of every dataset and split, reported and last round) must be what the outputs give; the
second holds for files of every version, since a run writes both from the same arrays.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

from ..data.registry import get_info
from .metrics import compute_metrics
from .outputs import Outputs, outputs_path, read_fingerprint, run_fingerprint

__all__ = ["check_outputs"]

#: scores are recomputed from the same float32 arrays: they agree to rounding
_TOLERANCE = 1e-6


def _fix(run_dir: Path) -> str:
    return (
        "Put the run's own predictions.npz back, or rebuild it with `python -m mosaic_kit eval "
        f"{run_dir}` (needs the run's checkpoints)."
    )


def check_outputs(run_dir: str | Path, outputs: Outputs, results: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming the file and the disagreement where ``outputs`` (read from
    ``run_dir``) were not written with ``results``."""
    run_dir = Path(run_dir)
    path = outputs_path(run_dir)
    found, config = read_fingerprint(path), results.get("config") or {}
    if found is not None and config:
        own = run_fingerprint(config)
        if found != own:
            other = (
                f"seed {found['seed']}"
                if found["seed"] != own["seed"]
                else "another configuration, same seed"
            )
            raise ValueError(
                f"{path} was written by another run ({other}), not by the run whose results.json "
                f"is beside it (seed {own['seed']}); outputs copied between runs would pair the "
                f"wrong samples. {_fix(run_dir)}"
            )
    checkpoint = results.get("checkpoint") or "best"
    for section, ckpt in ((results, checkpoint), (results.get("last") or {}, "last")):
        recorded = section.get("datasets") or {}
        for dataset, splits in ((outputs.get(ckpt) or {}).get("student") or {}).items():
            for split, (labels, scores) in splits.items():
                want = (recorded.get(dataset) or {}).get(split) or {}
                if not want:
                    continue
                got = compute_metrics(get_info(dataset).task, labels, scores)
                for metric in ("acc", "auc"):
                    a, b = got.get(metric), want.get(metric)
                    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (a, b)):
                        continue
                    if abs(a - b) > _TOLERANCE:
                        raise ValueError(
                            f"{path} does not hold the outputs {run_dir / 'results.json'} was "
                            f"computed from ({dataset} {split} {metric.upper()} of the '{ckpt}' "
                            f"checkpoint: {a:.4f} from the file, {b:.4f} recorded); it was copied "
                            f"from another run or edited. {_fix(run_dir)}"
                        )
