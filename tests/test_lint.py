"""The code passes the linter and is formatted as ``ruff format`` writes it (configuration in
pyproject.toml: 100 columns, pyflakes, pycodestyle, import order, bugbear)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ["mosaic_kit", "tests", "benchmarks"]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, *TREES], cwd=ROOT, capture_output=True, text=True
    )


def test_ruff_check_passes():
    done = _ruff("check", "--output-format", "concise")
    assert done.returncode == 0, done.stdout + done.stderr


def test_code_is_formatted():
    done = _ruff("format", "--check")
    assert done.returncode == 0, "run `ruff format mosaic_kit tests benchmarks`:\n" + done.stdout


def test_the_linter_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nx = undefined_name\n")
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(bad)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "F401" in done.stdout and "F821" in done.stdout
