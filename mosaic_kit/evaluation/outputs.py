"""Per-sample outputs of a run: the label and predicted scores of every validation and test sample,
per dataset, of the student and the EMA teacher, for the reported checkpoint (``best``) and the last
round's (``last``).

Every paired comparison (``mosaic_kit.stats``, ``python -m mosaic_kit compare``) is computed from
these, so a verdict never rests on a summary number alone. One compressed ``.npz`` per evaluation
beside its ``.json`` (``predictions.npz`` for ``results.json``), keys
``{checkpoint}/{net}/{dataset}/{split}/{labels|scores}``; scores are float32 probabilities as
``metrics.compute_metrics`` takes them, labels as the split stores them. ``run/fingerprint`` (JSON
as bytes) names the run that wrote them: its seed and the sha256 of its configuration without the
keys that only say where things are (``outputs_check`` compares it with the run's ``results.json``).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from ..utils.atomic import atomic_write_bytes
from ..utils.npz import open_npz

__all__ = [
    "Outputs",
    "outputs_path",
    "write_outputs",
    "load_outputs",
    "has_outputs",
    "run_fingerprint",
    "read_fingerprint",
]

#: {checkpoint: {net: {dataset: {split: (labels, scores)}}}}
Outputs = Dict[str, Dict[str, Dict[str, Dict[str, Tuple[np.ndarray, np.ndarray]]]]]


def outputs_path(run_dir: str | Path, name: str = "results") -> Path:
    """Where the per-sample outputs of evaluation ``name`` live: ``predictions.npz`` beside
    ``results.json``, ``{name}.predictions.npz`` beside any later ``{name}.json``."""
    return Path(run_dir) / ("predictions.npz" if name == "results" else f"{name}.predictions.npz")


#: configuration keys that say where things are or how fast they ran, not what was trained: a run
#: moved, bundled or evaluated on another machine keeps its fingerprint
PLACE_KEYS = frozenset(
    {"out", "data_root", "cache_dir", "weights", "device", "threads", "download", "num_workers"}
)
FINGERPRINT_KEY = "run/fingerprint"


def run_fingerprint(config: Mapping[str, Any]) -> Dict[str, Any]:
    """``{"seed", "config_sha256"}`` of a run's resolved configuration (``results.json``'s
    ``config``)."""
    kept = {k: v for k, v in config.items() if k not in PLACE_KEYS}
    text = json.dumps(kept, sort_keys=True, default=str)
    return {"seed": config.get("seed"), "config_sha256": hashlib.sha256(text.encode()).hexdigest()}


def write_outputs(
    run_dir: str | Path,
    outputs: Outputs,
    name: str = "results",
    config: Optional[Mapping[str, Any]] = None,
) -> Path:
    """Write ``outputs`` atomically (compressed npz, no pickled objects), with the fingerprint of
    the run's ``config``."""
    arrays: Dict[str, np.ndarray] = {}
    if config is not None:
        arrays[FINGERPRINT_KEY] = np.frombuffer(
            json.dumps(run_fingerprint(config)).encode(), dtype=np.uint8
        )
    for ckpt, nets in outputs.items():
        for net, datasets in nets.items():
            for dataset, splits in datasets.items():
                for split, (labels, scores) in splits.items():
                    key = f"{ckpt}/{net}/{dataset}/{split}"
                    arrays[f"{key}/labels"] = np.ascontiguousarray(labels)
                    arrays[f"{key}/scores"] = np.ascontiguousarray(scores, dtype=np.float32)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    path = outputs_path(run_dir, name)
    atomic_write_bytes(path, buf.getvalue())
    return path


def read_fingerprint(path: str | Path) -> Optional[Dict[str, Any]]:
    """The fingerprint a predictions file carries; None for files written before the kit wrote
    one."""
    with open_npz(path, "mosaic_kit predictions file") as z:
        if FINGERPRINT_KEY not in z.files:
            return None
        try:
            found = json.loads(bytes(z[FINGERPRINT_KEY]).decode())
        except (ValueError, UnicodeDecodeError):
            found = None
    if not isinstance(found, dict) or not {"seed", "config_sha256"} <= set(found):
        raise ValueError(
            f"{path}: its {FINGERPRINT_KEY} entry is not a run fingerprint; rebuild the file with "
            "`python -m mosaic_kit eval RUN` (needs the run's checkpoints)."
        )
    return found


def has_outputs(run_dir: str | Path, name: str = "results") -> bool:
    return outputs_path(run_dir, name).is_file()


def load_outputs(run_dir: str | Path, name: str = "results") -> Outputs:
    """The per-sample outputs of a run's evaluation ``name``; a clear error where the run
    predates them."""
    path = outputs_path(run_dir, name)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: {run_dir} holds no per-sample outputs (runs of mosaic_kit before "
            "0.3 stored summary scores only). Re-run it, or rebuild the outputs of a run that "
            f"still has its checkpoints with `python -m mosaic_kit eval {run_dir}`; a paired "
            "comparison needs them."
        )
    out: Outputs = {}
    with open_npz(
        path,
        "mosaic_kit predictions file",
        f"Rebuild it with `python -m mosaic_kit eval {run_dir}` "
        "(needs the run's checkpoints) or re-run the run.",
    ) as z:
        keys = set(z.files)
        for key in sorted(k for k in keys if k.endswith("/labels")):
            base = key[: -len("/labels")]
            parts = base.split("/")
            if len(parts) != 4 or f"{base}/scores" not in keys:
                raise ValueError(
                    f"{path}: unexpected entry {key!r}; the file is not a mosaic_kit predictions "
                    "file."
                )
            ckpt, net, dataset, split = parts
            labels, scores = z[key], z[f"{base}/scores"]
            if len(labels) != len(scores):
                raise ValueError(
                    f"{path}: {base} has {len(labels)} labels but {len(scores)} score rows."
                )
            _check_scores(path, base, dataset, scores)
            out.setdefault(ckpt, {}).setdefault(net, {}).setdefault(dataset, {})[split] = (
                labels,
                scores,
            )
    return out


def _check_scores(path: Path, base: str, dataset: str, scores: np.ndarray) -> None:
    """Scores are what ``compute_metrics`` takes: one row per sample, one column per class (two
    for a two-class dataset), finite probabilities in [0, 1]; anything else would be scored as if
    it were."""
    from ..data.registry import ALL_DATASETS, get_info

    fix = "rebuild the file with `python -m mosaic_kit eval RUN` (needs the run's checkpoints)"
    if scores.ndim != 2:
        raise ValueError(
            f"{path}: {base}/scores has shape {scores.shape}, not (samples, classes); {fix}."
        )
    if dataset in ALL_DATASETS and scores.shape[1] != get_info(dataset).n_classes:
        raise ValueError(
            f"{path}: {base}/scores has {scores.shape[1]} column(s), but {dataset} has "
            f"{get_info(dataset).n_classes} classes; {fix}."
        )
    if scores.size and not (
        np.isfinite(scores).all() and scores.min() >= -1e-6 and scores.max() <= 1 + 1e-6
    ):
        raise ValueError(
            f"{path}: {base}/scores are not probabilities in [0, 1] (range {np.nanmin(scores):g} "
            f"to {np.nanmax(scores):g}); {fix}."
        )


def select(
    outputs: Outputs, checkpoint: str, net: str
) -> Mapping[str, Mapping[str, Tuple[np.ndarray, np.ndarray]]]:
    """``{dataset: {split: (labels, scores)}}`` of one checkpoint and net, with an error naming
    what exists."""
    try:
        return outputs[checkpoint][net]
    except KeyError:
        have = ", ".join(f"{c}/{n}" for c, nets in outputs.items() for n in nets) or "nothing"
        raise ValueError(
            f"no outputs for checkpoint '{checkpoint}', {net}; the file holds {have}."
        ) from None
