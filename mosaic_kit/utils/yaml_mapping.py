"""A YAML file that must hold a mapping of keys to values (configuration files, plans, dataset
specs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import yaml

__all__ = ["read_yaml_mapping"]


def read_yaml_mapping(path: str | Path, what: str = "configuration file") -> Dict[str, Any]:
    """A YAML file that must hold a mapping (empty file: {}), with one clear error otherwise."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"Cannot read {what} {path}: {err}.") from None
    except yaml.YAMLError as err:
        raise ValueError(
            f"{what.capitalize()} {path} is not valid YAML: {' '.join(str(err).split())[:200]}."
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(
            f"{what.capitalize()} {path} must be a YAML mapping of keys to values; it holds a "
            f"{type(data).__name__}."
        )
    return data
