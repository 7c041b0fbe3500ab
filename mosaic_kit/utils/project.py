"""Relative paths in notebooks, whichever folder JupyterLab was started from: ``jupyter lab
notebooks/`` runs each notebook in ``notebooks/``, the project root runs it there; a path such as
``runs/demo`` means the project's ``runs/demo`` either way."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

__all__ = ["project_root", "in_project"]

_MARK = 'name = "mosaic_kit"'


def _is_root(folder: Path) -> bool:
    toml = folder / "pyproject.toml"
    try:
        return toml.is_file() and _MARK in toml.read_text(errors="replace")
    except OSError:
        return False


def project_root(start: Optional[Path] = None) -> Optional[Path]:
    """The folder of the kit's ``pyproject.toml``: the working folder or one above it, else the
    checkout this package was installed from (``pip install -e .``); None for a plain install."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if _is_root(folder):
            return folder
    source = Path(__file__).resolve().parents[2]
    return source if _is_root(source) else None


def in_project(path: str | Path, exists: bool = True, what: str = "path") -> Path:
    """``path`` made absolute. An input (``exists``): where it exists, the working folder first,
    then the project root; an output: under the project root (the working folder without one).
    A missing input is an error naming every place looked at."""
    given = Path(path).expanduser()
    if given.is_absolute():
        if exists and not given.exists():
            raise FileNotFoundError(f"{what} {given} does not exist.")
        return given
    root = project_root()
    places: List[Path] = [Path.cwd() / given]
    if root is not None and root / given not in places:
        places.append(root / given)
    if not exists:
        return (root / given) if root is not None else places[0]
    for place in places:
        if place.exists():
            return place.resolve()
    raise FileNotFoundError(
        f"{what} '{path}' not found; looked in: {', '.join(str(p) for p in places)}. Give a path "
        "relative to the project root (e.g. runs/demo, made by `make demo`) or an absolute one."
    )
