"""The README's notebook launch, ``make lab``, starts JupyterLab on notebooks/: as a user and as
root (a container's default), which Jupyter refuses unless told."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_make_lab_allows_root_exactly_when_run_as_root():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry = subprocess.run(
        ["make", "-s", "-n", "--no-print-directory", "lab"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    line = next(x for x in dry.stdout.splitlines() if "jupyter lab" in x)
    assert line.startswith(".venv/bin/jupyter lab notebooks/")
    assert ("--allow-root" in line) == (os.geteuid() == 0)


def test_make_lab_serves_the_notebooks():
    if shutil.which("make") is None or not (ROOT / ".venv" / "bin" / "jupyter").is_file():
        pytest.skip("needs make and the project's .venv (make venv)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(8)
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
    proc = subprocess.Popen(
        ["make", "-s", "lab", f"LAB_ARGS={args}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline, listing = time.time() + 120, None
        while time.time() < deadline and proc.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents?token={token}"
                listing = urllib.request.urlopen(url, timeout=2).read().decode()
                break
            except OSError:
                time.sleep(1)
        assert listing is not None, proc.stdout.read().decode() if proc.poll() is not None else ""
        assert '"01_train.ipynb"' in listing and '"05_explorer.ipynb"' in listing
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
