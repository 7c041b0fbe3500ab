"""One real-browser check: JupyterLab on loopback, the explorer notebook in headless Chromium (Debian's package)
driven by Playwright; changing a widget must change what is rendered. Saves reports/explorer-browser.png."""
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the `test` extra")
papermill = pytest.importorskip("papermill", reason="the notebook stack is the `notebooks` extra")

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "reports" / "explorer-browser.png"
TINY = {"backbone": "test_vit", "img_size": 32, "vol_size": 16, "bottleneck_a": 8, "bottleneck_b": 12,
        "bottleneck_c": 16, "datasets": ["pathmnist", "breastmnist", "adrenalmnist3d"]}


def _chromium() -> str:
    """Debian's Chromium; installed with apt-get when missing (as root). Skips only if that cannot work."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("Chromium is not installed and cannot be installed here (no apt-get or not root); "
                    "install Debian's `chromium` package to run this test.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log = ""
    for cmd in (["apt-get", "install", "-y", "-qq", "chromium"], ["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "chromium"]):
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


@pytest.fixture()
def jupyter_lab(tmp_path):
    book = papermill.iorw.load_notebook_node(str(ROOT / "notebooks" / "05_explorer.ipynb"))
    book = papermill.parameterize.parameterize_notebook(book, {"overrides": TINY})
    root = tmp_path / "lab"
    root.mkdir()
    nbformat.write(book, root / "explorer.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws")}
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True"]
                            + (["--allow-root"] if os.geteuid() == 0 else []),
                            env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "lab.log", "w"))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"JupyterLab exited: {(tmp_path / 'lab.log').read_text()[-1000:]}")
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
        yield f"{url}/lab/tree/explorer.ipynb?token={token}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_explorer_in_chromium(jupyter_lab):
    chromium = _chromium()
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(jupyter_lab)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                               "&& window.jupyterapp.shell.currentWidget.sessionContext "
                               "&& window.jupyterapp.shell.currentWidget.sessionContext.session "
                               "&& window.jupyterapp.shell.currentWidget.sessionContext.session.kernel "
                               "&& window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                               timeout=120_000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        info = page.locator(".widget-html-content", has_text="routed to")
        info.wait_for(timeout=180_000)
        image = page.locator(".widget-output img").first
        image.wait_for(timeout=60_000)
        before_text, before_img = info.inner_text(), image.get_attribute("src")
        assert "pathmnist" in before_text and "specialist A" in before_text and "untrained" in before_text

        page.locator(".widget-dropdown select").first.select_option(label="adrenalmnist3d (3D, C)")
        page.wait_for_function("() => [...document.querySelectorAll('.widget-html-content')]"
                               ".some(e => e.innerText.includes('adrenalmnist3d'))", timeout=60_000)
        page.wait_for_timeout(1500)  # let the figure output replace the old one
        after_text = page.locator(".widget-html-content", has_text="routed to").inner_text()
        after_img = page.locator(".widget-output img").first.get_attribute("src")
        assert "specialist C" in after_text and after_text != before_text
        assert after_img != before_img
        news = page.get_by_role("button", name="No")
        if news.count():  # JupyterLab's "notified about news?" toast
            news.first.click()
        page.locator(".widget-output").first.scroll_into_view_if_needed()
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        browser.close()
    assert SCREENSHOT.stat().st_size > 10_000
