"""A validated Config from a preset, a YAML file and overrides (later wins), and --set key=value
strings typed."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..utils.yaml_mapping import read_yaml_mapping
from .coerce import coerce_to
from .core import Config, _check_keys, _shared_fields
from .options import registered_options

__all__ = ["PRESET_DIR", "available_presets", "parse_set", "load_config"]


PRESET_DIR = Path(__file__).parent / "presets"


def available_presets() -> List[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def _coerce(key: str, raw: Any) -> Any:
    """Turn a ``--set`` string into the type the key's field declares."""
    owner = (
        Config
        if key in _shared_fields()
        else next(c for c in registered_options() if key in {f.name for f in dataclasses.fields(c)})
    )
    return coerce_to(key, typing.get_type_hints(owner)[key], raw)


def parse_set(items: Sequence[str]) -> Dict[str, Any]:
    """Parse repeated ``key=value`` strings."""
    out: Dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set expects key=value, got '{item}'.")
        key, value = item.split("=", 1)
        key = key.strip()
        _check_keys([key], "--set")
        out[key] = _coerce(key, value)
    return out


def load_config(
    preset: Optional[str] = None,
    file: Optional[str] = None,
    overrides: Optional[Mapping[str, Any]] = None,
) -> Config:
    """Build a validated Config from a preset name, a YAML file and overrides (later wins)."""
    values: Dict[str, Any] = {}
    if preset:
        path = PRESET_DIR / f"{preset}.yaml"
        if not path.exists():
            raise ValueError(
                f"Unknown preset '{preset}'. Available: {', '.join(available_presets())}."
            )
        data = read_yaml_mapping(path, "preset")
        _check_keys(list(data), f"preset {path.name}")
        values.update(data)
    if file:
        if not Path(file).is_file():
            raise FileNotFoundError(f"Configuration file {file} does not exist.")
        data = read_yaml_mapping(file)
        data.pop("preset", None)
        _check_keys(list(data), f"file {file}")
        values.update(data)
    if overrides:
        _check_keys(list(overrides), "overrides")
        values.update({k: _coerce(k, v) for k, v in overrides.items()})
    return Config.from_dict(values)
