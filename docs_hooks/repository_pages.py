"""mkdocs hook: the committed reports (their Markdown, figures and tables, not the runs' records)
and ``benchmarks/RESULTS.md`` become pages of the site under ``repo/``, so that the documentation's
links to them, written as the repository shows them (``../reports/...``), work on the site too."""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

SUFFIXES = {".md", ".png", ".csv", ".svg", ".tex"}


def _repository_files(repo: Path):
    for path in sorted((repo / "reports").rglob("*")):
        rel = path.relative_to(repo)
        if path.is_file() and "runs" not in rel.parts and path.suffix in SUFFIXES:
            yield rel, path
    yield Path("benchmarks/RESULTS.md"), repo / "benchmarks" / "RESULTS.md"


def on_files(files, config):
    repo = Path(config.config_file_path).resolve().parent
    for rel, path in _repository_files(repo):
        files.append(File.generated(config, f"repo/{rel.as_posix()}", abs_src_path=str(path)))
    return files


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri.startswith("repo/"):
        return markdown  # already relative to its own folder
    return re.sub(r"\]\(\.\./(reports|benchmarks)/", r"](repo/\1/", markdown)
