"""``results.json`` and its Markdown table."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, Mapping

from ..data.registry import get_info
from ..data.specs import register_run_datasets
from ..utils.atomic import atomic_write_bytes

__all__ = ["write_results", "markdown_table", "load_results", "provenance_line", "provenance_tag"]


def _fmt(v: Any) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def markdown_table(results: Mapping[str, Any]) -> str:
    """Per-dataset test ACC/AUC of student and teacher, val ACC, and the all / 2D / 3D means."""
    routing = results.get("routing", {})
    teacher = results.get("teacher", {})
    lines = [
        "| dataset | dim | specialist | val ACC | test ACC | test AUC | teacher test ACC | teacher "
        "test AUC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["datasets"].items():
        t = teacher.get("datasets", {}).get(name, {}).get("test", {})
        extra = f" (±1 grade: {_fmt(r['test']['acc_pm1'])})" if "acc_pm1" in r["test"] else ""
        lines.append(
            f"| {name} | {get_info(name).modality.upper()} | {routing.get(name, '')} | "
            f"{_fmt(r['val']['acc'])} | {_fmt(r['test']['acc'])}{extra} | {_fmt(r['test']['auc'])} "
            f"| {_fmt(t.get('acc'))} | {_fmt(t.get('auc'))} |"
        )
    for group, m in results["mean"].items():
        t = teacher.get("mean", {}).get(group, {})
        lines.append(
            f"| **mean {group}** | | | | **{_fmt(m['acc'])}** | **{_fmt(m['auc'])}** | "
            f"{_fmt(t.get('acc'))} | {_fmt(t.get('auc'))} |"
        )
    if any("acc_pm1" in r["test"] for r in results["datasets"].values()):
        lines.append(
            "\n±1 grade: the share of test images whose predicted grade is within one of the true "
            "grade (ordinal tasks such as RetinaMNIST; ACC counts exact grades only)."
        )
    source = provenance_line(results)
    return "\n".join(lines) + "\n" + (f"\n{source}\n" if source else "")


def provenance_tag(results: Mapping[str, Any]) -> str:
    """A few words for figure titles: ``synthetic data, random backbone``; "" when not recorded."""
    prov = results.get("provenance")
    if not prov:
        return ""
    kinds = "/".join(dict.fromkeys(prov["datasets"].values()))
    trunc = ", truncated evaluation" if prov["evaluation"] != "complete" else ""
    return (
        f"{kinds} data, {'pretrained' if prov['backbone']['pretrained'] else 'random'} "
        f"backbone{trunc}"
    )


def provenance_line(results: Mapping[str, Any]) -> str:
    """One sentence: what the data files were, which backbone weights, whether evaluation was
    complete."""
    prov = results.get("provenance")
    if not prov:
        return ""
    kinds: Dict[str, list] = {}
    for name, kind in prov["datasets"].items():
        kinds.setdefault(kind, []).append(name)
    checks = prov.get("checks") or {}

    def checked(kind: str, names: list) -> str:
        how = sorted({checks[n] for n in names if n in checks})
        return f"; checked: {', '.join(how)}" if kind == "same-splits" and how else ""

    data = "; ".join(
        (f"{k} ({', '.join(v)}" if len(v) <= 3 else f"{k} ({len(v)} datasets") + checked(k, v) + ")"
        for k, v in kinds.items()
    )
    bb = prov["backbone"]
    weights = (
        f"pretrained weights {Path(bb['weights']).name} (sha256 {bb['sha256'][:12]})"
        if bb["pretrained"]
        else "random init, not pretrained"
    )
    return f"Data: {data}. Backbone: {bb['backbone']}, {weights}. Evaluation: {prov['evaluation']}."


def execution_line(results: Mapping[str, Any]) -> str:
    """How the run's wall time was measured: the device and, on a CPU, its torch thread count; ""
    when the run recorded neither (wall times are comparable only between runs measured the same
    way)."""
    cfg = results.get("config") or {}
    if "device" not in cfg:
        return ""
    if not str(cfg["device"]).startswith("cpu"):
        return f"Wall time measured on {cfg['device']}."
    threads = int(cfg.get("threads") or 0)
    return "Wall time measured on the CPU, " + (
        f"{threads} torch thread{'s' if threads > 1 else ''} per run."
        if threads
        else "all cores per run."
    )


def write_results(run_dir: str | Path, results: Dict[str, Any], name: str = "results") -> Path:
    """``{name}.json`` and ``{name}.md`` in ``run_dir``: ``results`` is the training's own
    evaluation (what tables read); later evaluations of a run use their own names
    (``evaluation-last``, ...)."""
    run_dir = Path(run_dir)
    atomic_write_bytes(
        run_dir / f"{name}.json", json.dumps(results, indent=2, sort_keys=False).encode()
    )
    atomic_write_bytes(run_dir / f"{name}.md", markdown_table(results).encode())
    return run_dir / f"{name}.json"


def load_results(run_dir: str | Path, name: str = "results") -> Dict[str, Any]:
    """A run's ``{name}.json``; the run's own datasets (``RUN/datasets/*.yaml``) are registered
    first."""
    register_run_datasets(run_dir)
    path = Path(run_dir) / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: the run has not finished (resume it with `train --resume "
            f"{run_dir}`) or {run_dir} is not a run directory."
        )
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{path} is not valid JSON ({err}); re-create it with `python -m mosaic_kit eval "
            f"{run_dir}` (writes evaluation-best.json) or restore it."
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("datasets"), dict):
        raise ValueError(f"{path} is not a mosaic_kit results file (no 'datasets' mapping).")
    for which, part in (("", data), ("teacher.", data.get("teacher") or {})):
        if not isinstance(part, dict) or not isinstance(part.get("datasets", {}), dict):
            raise ValueError(
                f"{path}: '{which or 'datasets'}' is not a mapping; the file is not a mosaic_kit "
                "results file or is damaged: restore it or re-create it with `python -m "
                f"mosaic_kit eval {run_dir}`."
            )
        for name, splits in (part.get("datasets") or {}).items():
            for split in ("val", "test"):
                scores = splits.get(split) if isinstance(splits, dict) else None
                for metric in ("acc", "auc"):
                    v = scores.get(metric) if isinstance(scores, dict) else None
                    bad = not isinstance(v, (int, float)) or isinstance(v, bool)
                    if bad or not (math.isnan(v) or 0.0 <= v <= 1.0):
                        raise ValueError(
                            f"{path}: {which}datasets.{name}.{split}.{metric} is {v!r}, not a "
                            "score between 0 and 1 (NaN marks an undefined AUC); the file was "
                            "edited or is damaged: restore it or re-create it with `python -m "
                            f"mosaic_kit eval {run_dir}`."
                        )
    return data
