"""Typed values from untyped sources: ``--set`` strings, YAML (PyYAML reads ``1e-4`` as a string)
and notebook parameters, checked against a dataclass's declared field types."""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any, Dict, List, Sequence

import yaml

__all__ = ["type_problems", "range_problems", "coerce_to"]


def type_problems(obj: Any) -> List[str]:
    """Check every field of the dataclass ``obj`` against its declared type, coercing in place.

    Strings are coerced like ``--set`` values (so YAML's ``lr: 1e-4``, which PyYAML reads as a
    string, works); ints are accepted where floats are declared; bools are never accepted as
    numbers.
    """
    problems = []
    for f in dataclasses.fields(obj):
        if not f.metadata.get("help"):
            continue  # internal fields (Config.method_options)
        name, hint = f.name, typing.get_type_hints(type(obj))[f.name]
        value = getattr(obj, name)
        if isinstance(value, str) and hint is not str:
            try:
                value = coerce_to(name, hint, value)
            except ValueError as err:
                problems.append(str(err))
                continue
        args = typing.get_args(hint)
        if value is None:
            if type(None) not in args:
                problems.append(f"'{name}' must not be None")
            continue
        base = next((a for a in args if a is not type(None)), hint) if type(None) in args else hint
        origin = typing.get_origin(base) or base
        if base is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        ok = isinstance(value, origin) and not (origin in (int, float) and isinstance(value, bool))
        if ok and origin is list:
            ok = all(isinstance(v, str) for v in value)
        if ok and origin is dict:
            value, ok = _typed_mapping(name, base, value)
        if ok and origin is float and not math.isfinite(value):
            problems.append(f"'{name}' must be a finite number, got {value!r}")
            continue
        if not ok:
            want = (
                "a list of strings"
                if origin is list
                else f"a mapping of strings to {_value_kind(base)}"
                if origin is dict
                else getattr(origin, "__name__", str(origin))
            )
            problems.append(f"'{name}' expects {want}, got {value!r} ({type(value).__name__})")
        else:
            setattr(obj, name, value)
    return problems


def _value_kind(hint: Any) -> str:
    value_type = (typing.get_args(hint) or (str, str))[1]
    return {str: "strings", int: "integers", float: "numbers"}.get(value_type, str(value_type))


def _typed_mapping(name: str, hint: Any, value: Dict[Any, Any]) -> "tuple[Dict[str, Any], bool]":
    """``value`` with its values coerced to the mapping's declared value type (str, int or
    float), and whether every key is a string and every value of that type (bools are never
    numbers; floats must be finite)."""
    value_type = (typing.get_args(hint) or (str, str))[1]
    out: Dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            return value, False
        if isinstance(item, str) and value_type is not str:
            try:
                item = coerce_to(f"{name}.{key}", value_type, item)
            except ValueError:
                return value, False
        if value_type is float and isinstance(item, int) and not isinstance(item, bool):
            item = float(item)
        if not isinstance(item, value_type) or isinstance(item, bool) and value_type is not bool:
            return value, False
        if value_type is float and not math.isfinite(item):
            return value, False
        out[key] = item
    return out, True


def range_problems(
    obj: Any, positive: Sequence[str] = (), non_negative: Sequence[str] = ()
) -> List[str]:
    """Messages for the fields of ``obj`` named in ``positive`` that are not > 0, and in
    ``non_negative`` < 0."""
    out = [f"{k} must be > 0 (got {getattr(obj, k)})" for k in positive if getattr(obj, k) <= 0]
    return out + [
        f"{k} must be >= 0 (got {getattr(obj, k)})" for k in non_negative if getattr(obj, k) < 0
    ]


def coerce_to(key: str, hint: Any, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    optional = type(None) in typing.get_args(hint)
    if optional and text.lower() in ("none", "null", ""):
        return None
    base = (
        next((a for a in typing.get_args(hint) if a is not type(None)), hint) if optional else hint
    )
    origin = typing.get_origin(base)
    try:
        if base is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if base is int:
            return int(text)
        if base is float:
            return float(text)
        if origin is list:
            return [t.strip() for t in text.split(",") if t.strip()]
        if origin is dict:  # "tissuemnist:B,retinamnist:A" or YAML mapping
            if text.startswith("{"):
                try:
                    return dict(yaml.safe_load(text))
                except (yaml.YAMLError, TypeError):
                    raise ValueError from None  # an unclosed or non-mapping {...}
            return dict(pair.split(":", 1) for pair in text.split(",") if pair.strip())
        return text
    except ValueError:
        raise ValueError(
            f"Configuration key '{key}' expects {getattr(base, '__name__', base)}, got '{raw}'."
        ) from None
