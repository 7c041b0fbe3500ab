"""A JSON file the kit wrote and reads back, which must hold one object: damage is one message
naming the file and the fix, never a decoder's line and column or an ``AttributeError``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional

__all__ = ["read_json_object"]


def read_json_object(
    path: str | Path, fix: str, missing: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    """The object in ``path`` (``missing``, where given, when there is no such file); a file that
    cannot be read, is not JSON or holds another type is refused with ``fix`` (what restores it)."""
    path = Path(path)
    if missing is not None and not path.exists():
        return missing
    try:
        data: Any = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        why = f"{type(err).__name__}: {' '.join(str(err).split())[:120]}"
    else:
        if isinstance(data, dict):
            return data
        why = f"it holds a {type(data).__name__}, not a JSON object"
    raise ValueError(f"{path} cannot be read back ({why}); it was damaged or edited. {fix}")
