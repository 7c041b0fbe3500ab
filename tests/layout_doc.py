"""The package tree of ``docs/layout.md``, written from the code: each wing's ``__init__`` docstring
and the first sentence of each module's docstring, wings in their import order
(``test_architecture.WINGS``).

    # rewrites the tree in docs/layout.md after a module is added or moved
    python tests/layout_doc.py
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mosaic_kit"
DOC = ROOT / "docs" / "layout.md"
BEGIN, END = "<!-- layout: begin (python tests/layout_doc.py) -->", "<!-- layout: end -->"
WIDTH = 116


def first_sentence(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    para = " ".join(doc.split("\n\n")[0].split())
    m = re.match(r"(.+?\.)(\s|$)", para)
    return (m.group(1) if m else para).rstrip(".")


def one_line(path: Path) -> str:
    """A wing's ``__init__`` docstring: its first line says what the wing holds."""
    return (ast.get_docstring(ast.parse(path.read_text())) or "").split("\n")[0].rstrip(".")


def _entry(name: str, text: str, indent: int) -> list[str]:
    head = " " * indent + name
    pad = max(28, len(head) + 1)
    lines = textwrap.wrap(text, WIDTH - pad) or [""]
    return [f"{head:<{pad}}{lines[0]}".rstrip()] + [" " * pad + line for line in lines[1:]]


def tree(wings: list[str], root_modules: list[str]) -> str:
    out = ["mosaic_kit/"]
    for n, wing in enumerate(wings, 1):
        folder = PACKAGE / wing
        out += _entry(f"{wing}/", f"{n}. " + one_line(folder / "__init__.py"), 2)
        for sub in sorted(p for p in folder.rglob("*.py") if p.name != "__init__.py"):
            rel = sub.relative_to(folder).as_posix()
            out += _entry(rel, first_sentence(sub), 4)
        for data in sorted(
            p
            for p in folder.iterdir()
            if p.is_dir() and not (p / "__init__.py").exists() and p.name != "__pycache__"
        ):
            files = sorted(f.name for f in data.iterdir() if f.is_file())
            out += _entry(f"{data.name}/", "data files: " + ", ".join(files), 4)
    for mod in root_modules:
        out += _entry(f"{mod}.py", first_sentence(PACKAGE / f"{mod}.py"), 2)
    return "\n".join(out)


def block(wings: list[str], root_modules: list[str]) -> str:
    return f"{BEGIN}\n```\n{tree(wings, root_modules)}\n```\n{END}"


def current_block() -> str:
    text = DOC.read_text()
    return text[text.index(BEGIN) : text.index(END) + len(END)]


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_architecture import ROOT_ORDER, WINGS

    text = DOC.read_text()
    DOC.write_text(text.replace(current_block(), block(WINGS, ROOT_ORDER)))
    print(f"wrote the package tree of {DOC.relative_to(ROOT)}")
