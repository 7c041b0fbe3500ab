"""JupyterLab on loopback and Debian's Chromium, for the browser test and the README screenshot
script."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

#: CSS that hides JupyterLab's notification toasts (news, updates) so screenshots show only the
#: notebook.
NO_TOASTS = ".Toastify, .jp-toast-container, .jp-Notification-Toast { display: none !important; }"


def chromium() -> str:
    """Debian's Chromium; installed with apt-get when missing (as root). Skips only if that
    cannot work."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip(
            "Chromium is not installed and cannot be installed here (no apt-get or not root); "
            "install Debian's `chromium` package to run this test."
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log = ""
    for cmd in (
        ["apt-get", "install", "-y", "-qq", "chromium"],
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "chromium"],
    ):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        log += r.stdout[-500:] + r.stderr[-500:]
        if cmd[1] == "install" and r.returncode == 0:
            break
    found = shutil.which("chromium")
    if not found:
        pytest.skip(f"Chromium could not be installed with apt-get: {log.strip()[-300:]}")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_lab(root: Path, scratch: Path, notebook: str) -> Iterator[str]:
    """Serve ``root`` with JupyterLab (its own config/runtime folders in ``scratch``); yields the
    URL of ``notebook`` with the token."""
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(scratch / "cfg"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "rt"),
        "JUPYTERLAB_WORKSPACES_DIR": str(scratch / "ws"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
        ]
        + (["--allow-root"] if os.geteuid() == 0 else []),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(scratch / "lab.log", "w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"JupyterLab exited: {(scratch / 'lab.log').read_text()[-1000:]}"
                    ) from None
                time.sleep(0.5)
        else:
            raise RuntimeError("JupyterLab did not answer within 60 s")
        yield f"{url}/lab/tree/{notebook}?token={token}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def open_and_run_all(page, url: str) -> None:
    """Open a notebook in JupyterLab, wait for an idle kernel, run all cells, hide notification
    toasts."""
    page.goto(url)
    page.add_style_tag(content=NO_TOASTS)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
        "&& window.jupyterapp.shell.currentWidget.sessionContext "
        "&& window.jupyterapp.shell.currentWidget.sessionContext.session "
        "&& window.jupyterapp.shell.currentWidget.sessionContext.session.kernel "
        "&& window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
        timeout=120_000,
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
