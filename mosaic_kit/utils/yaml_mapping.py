"""A YAML file that must hold a mapping of keys to values (configuration files, plans, dataset
specs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import yaml

__all__ = ["read_yaml_mapping", "UniqueKeyLoader", "DuplicateKeyError"]


class DuplicateKeyError(yaml.YAMLError):
    """A mapping that names one key twice."""


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key written twice in one mapping is an error (PyYAML
    keeps the last silently, so an edited file could run with the value one did not mean)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise DuplicateKeyError(
                    f"the key '{key}' is written twice (lines {seen[key] + 1} and "
                    f"{key_node.start_mark.line + 1}); keep one"
                )
            if isinstance(key, (str, int, float, bool)):
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_yaml_mapping(path: str | Path, what: str = "configuration file") -> Dict[str, Any]:
    """A YAML file that must hold a mapping (empty file: {}), with one clear error otherwise."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(), Loader=UniqueKeyLoader)  # noqa: S506 - a safe loader
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"Cannot read {what} {path}: {err}.") from None
    except DuplicateKeyError as err:
        raise ValueError(f"{what.capitalize()} {path}: {err}.") from None
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
