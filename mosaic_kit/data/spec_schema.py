"""The keys a dataset spec file may hold and their types (checked strictly by pydantic before the
spec is completed): ``seed: "x"`` or ``source: 5`` is one error naming the key, never a
TypeError or a seed of 1."""

from __future__ import annotations

import math
from typing import Annotated, Any, List, Mapping, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from ..utils.schema import check_types

__all__ = ["check_spec_types"]


class _SpecFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: StrictStr
    task: StrictStr
    modality: StrictStr
    source: StrictStr
    # numbers are allowed as names (class_names: [0, 1]) and become text
    class_names: Optional[Annotated[List[Union[StrictStr, StrictInt]], Field(min_length=1)]] = None
    specialist: Optional[StrictStr] = None
    split: Optional[List[float]] = None
    seed: Optional[Annotated[StrictInt, Field(ge=0, le=2**32 - 1)]] = None
    channels: Optional[StrictInt] = None
    window: Optional[Annotated[List[float], Field(min_length=2, max_length=2)]] = None
    description: Optional[StrictStr] = None

    @field_validator("class_names")
    @classmethod
    def _distinct(cls, names):
        if names is not None and len({str(n) for n in names}) != len(names):
            twice = sorted({str(n) for n in names if [str(m) for m in names].count(str(n)) > 1})
            raise ValueError(f"each class is named once; {twice} appear more than once")
        return names

    @field_validator("window", "split")
    @classmethod
    def _finite(cls, values):
        if values is not None and not all(math.isfinite(v) for v in values):
            raise ValueError("the numbers must be finite")
        return values


_EXAMPLES = {
    "class_names": "a list of distinct names in label order, e.g. class_names: [normal, stone]",
    "seed": "a whole number >= 0, e.g. seed: 0",
    "split": "three fractions summing to 1, e.g. split: [0.7, 0.1, 0.2]",
    "window": "[LOW, HIGH], e.g. window: [-1000, 400]",
    "source": "a folder of class folders or an .npz file, relative to the spec",
    "channels": "1 (grayscale) or 3 (RGB)",
}

#: how many classes each task needs at least (binary-class: exactly two)
_MIN_CLASSES = {"multi-class": 2, "binary-class": 2, "ordinal-regression": 2}


def check_spec_types(spec: Mapping[str, Any], where: str) -> None:
    """Every key of the spec of the type it must have, and class names that fit the task."""
    check_types(_SpecFile, spec, where, _EXAMPLES)
    names, task = spec.get("class_names"), spec["task"]
    if names is not None and task in _MIN_CLASSES:
        few = len(names) < _MIN_CLASSES[task] or (task == "binary-class" and len(names) != 2)
        if few:
            need = "exactly 2" if task == "binary-class" else f"at least {_MIN_CLASSES[task]}"
            raise ValueError(
                f"{where}: class_names {list(names)} name {len(names)} class(es), but a {task} "
                f"dataset has {need}; fix class_names or the task."
            )
