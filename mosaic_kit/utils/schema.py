"""Strict types for the YAML files people write (plans, dataset specs), checked by pydantic: a value
is taken as YAML gives it, never converted, and every wrong one is named in one error with how to
write it."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Type

from pydantic import BaseModel, ValidationError

__all__ = ["check_types"]


def _where(loc: tuple) -> str:
    out = str(loc[0])
    for part in loc[1:]:
        out += f"[{part}]" if isinstance(part, int) else ("" if "[" in str(part) else f".{part}")
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_types(
    model: Type[BaseModel], data: Mapping[str, Any], where: str, examples: Dict[str, str]
) -> None:
    """Validate ``data`` against ``model``; a ``ValueError`` starting with ``where`` names each
    wrong value (at most six) and, for keys in ``examples``, how to write them. A key given with
    no value (YAML's null) is refused first: it never stands for the default it might look like."""
    empty = sorted(k for k, v in data.items() if v is None and k in model.model_fields)
    if empty:
        optional = not any(model.model_fields[k].is_required() for k in empty)
        raise ValueError(
            f"{where}: {', '.join(empty)} has no value (null); give one"
            + (", or leave the key out for its default." if optional else ".")
        )
    try:
        model.model_validate(dict(data))
    except ValidationError as err:
        lines, keys = [], []
        for e in err.errors():
            loc = tuple(e["loc"])
            got = "" if e["type"] == "missing" else f" (got {_short(e.get('input'))})"
            lines.append(f"{_where(loc)}: {e['msg'].lower()}{got}")
            keys.append(str(loc[0]))
        fixes = [f"{k}: {examples[k]}" for k in dict.fromkeys(keys) if k in examples]
        raise ValueError(
            f"{where}: "
            + "; ".join(lines[:6])
            + "."
            + (" Write " + "; ".join(fixes) + "." if fixes else "")
        ) from None
