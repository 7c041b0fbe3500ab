"""A plan's entries read one by one: a method entry, a dataset selection, the smallest effect of
interest and the contrasts, each with an error naming the plan and the fix."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Dict, List

__all__ = []


def _selection(entry: Any) -> tuple:
    if isinstance(entry, str):
        return entry, [entry]
    if isinstance(entry, list):
        return "+".join(entry), entry
    if isinstance(entry, dict) and "datasets" in entry:
        ds = entry["datasets"]
        ds = [ds] if isinstance(ds, str) else list(ds)
        return str(entry.get("name", "+".join(ds))), ds
    raise ValueError(
        "Plan datasets entries must be a name, a list of names or {name, datasets}; got "
        f"{entry!r}."
    )


def _method(entry: Any) -> tuple:
    if isinstance(entry, str):
        return entry, {"method": entry}
    if isinstance(entry, dict) and "method" in entry:
        unknown = sorted(set(entry) - {"label", "method", "overrides"})
        if unknown:
            close = difflib.get_close_matches(unknown[0], ["label", "method", "overrides"], n=1)
            raise ValueError(
                f"Plan method entry has unknown keys {unknown}"
                + (f" (did you mean '{close[0]}'?)" if close else "")
                + "; use label, method, overrides."
            )
        return str(entry.get("label", entry["method"])), {
            "method": entry["method"],
            **entry.get("overrides", {}),
        }
    raise ValueError(
        "Plan methods entries must be a method name or {label, method, overrides}; got "
        f"{entry!r}."
    )


def _smallest_effect(entry: Any, path: Path) -> Dict[str, float]:
    """``{acc: POINTS, auc: POINTS}``: the smallest difference the plan's verdicts care about
    (equivalence margin)."""
    if entry is None:
        return {}
    if not isinstance(entry, dict) or not entry or set(entry) - {"acc", "auc"}:
        raise ValueError(
            f"Plan {path}: 'smallest_effect' is {{acc: POINTS, auc: POINTS}} (either or both), the "
            f"smallest difference of interest in points; got {entry!r}."
        )
    out = {}
    for k, v in entry.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < float(v) < 100:
            raise ValueError(
                f"Plan {path}: smallest_effect {k}: {v!r} is not a number of points between 0 and "
                "100 (e.g. 2 for two points of AUC)."
            )
        out[k] = float(v)
    return out


def _contrasts(entries: Any, labels: List[str], path: Path) -> List[Dict[str, str]]:
    """``[{a, b, question}]`` with ``a`` and ``b`` labels of the plan."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ValueError(f"Plan {path}: 'contrasts' is a list of {{a, b, question}} entries.")
    out = []
    for entry in entries:
        if (
            not isinstance(entry, dict)
            or not {"a", "b"} <= set(entry)
            or set(entry) - {"a", "b", "question"}
        ):
            raise ValueError(
                f"Plan {path}: each contrast is {{a: LABEL, b: LABEL, question: TEXT}}; got "
                f"{entry!r}."
            )
        missing = [str(entry[k]) for k in ("a", "b") if str(entry[k]) not in labels]
        if missing:
            raise ValueError(
                f"Plan {path}: contrast {entry!r} names {missing}, not labels of the plan {labels}."
            )
        if str(entry["a"]) == str(entry["b"]):
            raise ValueError(f"Plan {path}: contrast {entry!r} compares a label with itself.")
        out.append(
            {"a": str(entry["a"]), "b": str(entry["b"]), "question": str(entry.get("question", ""))}
        )
    return out
