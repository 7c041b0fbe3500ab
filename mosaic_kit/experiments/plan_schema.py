"""The keys a plan file may hold, their types (checked by pydantic, strictly: ``seeds: "42"`` is
an error, not seeds 4 and 2), and the orders its runs may take."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Dict, List, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from ..utils.schema import check_types

__all__ = ["ORDERS", "check_plan_types"]


#: Keys every run of a plan gets from the plan itself: a grid over them would be ignored.
_PER_RUN_KEYS = ("seed", "datasets", "out")

#: The orders a plan's runs may go in: label by label (each label's seeds together), or seed by seed
#: (every label at the first seed first: a suite stopped halfway still compares every label on the
#: seeds it finished).
ORDERS = ("labels", "seeds")

Seed = Annotated[StrictInt, Field(ge=0, le=2**32 - 1)]


class _DatasetEntry(BaseModel):
    """``{name: NAME, datasets: [...]}``: a named selection of datasets trained together."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Optional[StrictStr] = None
    datasets: Union[StrictStr, Annotated[List[StrictStr], Field(min_length=1)]]


class _MethodEntry(BaseModel):
    """``{label, method, overrides}``; unknown keys are named by ``plan_entries`` (did you
    mean)."""

    model_config = ConfigDict(extra="allow", strict=True)

    label: Optional[StrictStr] = None
    method: StrictStr
    overrides: Optional[Dict[StrictStr, Any]] = None


class _PlanFile(BaseModel):
    """A plan's top level. Values are taken as YAML gives them, never converted."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Optional[StrictStr] = None
    preset: Optional[StrictStr] = None
    overrides: Optional[Dict[StrictStr, Any]] = None
    methods: List[Union[StrictStr, _MethodEntry]] = Field(min_length=1)
    datasets: List[Union[StrictStr, List[StrictStr], _DatasetEntry]] = Field(min_length=1)
    seeds: List[Seed] = Field(min_length=1)
    out: Optional[StrictStr] = None
    report: Optional[StrictStr] = None
    title: Optional[StrictStr] = None
    grid: Optional[Dict[StrictStr, List[Any]]] = None
    slurm: Optional[Dict[StrictStr, Any]] = None
    baseline: Optional[StrictStr] = None
    order: Literal["labels", "seeds"] = "labels"
    contrasts: Optional[List[Dict[StrictStr, Any]]] = None
    smallest_effect: Optional[Dict[StrictStr, Any]] = None


_PLAN_KEYS = set(_PlanFile.model_fields)

#: how to write each key, for the error message
_EXAMPLES = {
    "seeds": "a list of whole numbers >= 0, e.g. seeds: [42, 123, 456]",
    "datasets": "a list, e.g. datasets: [breastmnist, [pneumoniamnist, adrenalmnist3d]]",
    "methods": "a list of method names or {label, method, overrides} entries",
    "overrides": "a mapping of configuration keys, e.g. overrides: {lr: 0.001}",
    "grid": "a mapping of keys to lists of values, e.g. grid: {lr: [1e-4, 3e-4]}",
}


def check_plan_types(data: Dict[str, Any], path: Path) -> None:
    """Every key of a plan of the type it must have; one error naming each wrong value and how
    to write it. Keys that the plan sets for every run may not be overridden."""
    check_types(_PlanFile, data, f"Plan {path}", _EXAMPLES)
    entries = [("overrides", data.get("overrides") or {})] + [
        (f"methods entry '{m.get('label', m.get('method'))}'", m.get("overrides") or {})
        for m in data["methods"]
        if isinstance(m, dict)
    ]
    for where, over in entries:
        fixed = sorted(set(over) & set(_PER_RUN_KEYS))
        if fixed:
            raise ValueError(
                f"Plan {path}: {where} sets {fixed}, which the plan sets for every run; list them "
                "in the plan's own `seeds`, `datasets` and `out` instead."
            )
