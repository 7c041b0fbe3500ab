"""One real-browser check: JupyterLab on loopback, the explorer notebook in headless Chromium
(Debian's package) driven by Playwright; changing a widget must change what is rendered, and the
upload control is there. (The README's screenshot comes from
``benchmarks/explorer_screenshot.py``, on a run trained on real files.)"""

from pathlib import Path

import nbformat
import pytest
from jupyter_lab import chromium, open_and_run_all, running_lab

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is in the `test` extra"
)
papermill = pytest.importorskip("papermill", reason="the notebook stack is the `notebooks` extra")

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "backbone": "test_vit",
    "img_size": 32,
    "vol_size": 16,
    "bottleneck_a": 8,
    "bottleneck_b": 12,
    "bottleneck_c": 16,
    "datasets": ["pathmnist", "breastmnist", "adrenalmnist3d"],
}


@pytest.fixture()
def jupyter_lab(tmp_path):
    book = papermill.iorw.load_notebook_node(str(ROOT / "notebooks" / "05_explorer.ipynb"))
    book = papermill.parameterize.parameterize_notebook(book, {"overrides": TINY})
    root = tmp_path / "lab"
    root.mkdir()
    nbformat.write(book, root / "explorer.ipynb")
    with running_lab(root, tmp_path, "explorer.ipynb") as url:
        yield url


def test_explorer_in_chromium(jupyter_lab, tmp_path):
    chromium_path = chromium()
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        open_and_run_all(page, jupyter_lab)
        info = page.locator(".widget-html-content", has_text="routed to")
        info.wait_for(timeout=180_000)
        image = page.locator(".widget-output img").first
        image.wait_for(timeout=60_000)
        before_text, before_img = info.inner_text(), image.get_attribute("src")
        assert (
            "pathmnist" in before_text
            and "specialist A" in before_text
            and "untrained" in before_text
        )

        page.locator(".widget-dropdown select").first.select_option(label="adrenalmnist3d (3D, C)")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.widget-html-content')]"
            ".some(e => e.innerText.includes('adrenalmnist3d'))",
            timeout=60_000,
        )
        page.wait_for_timeout(1500)  # let the figure output replace the old one
        after_text = page.locator(".widget-html-content", has_text="routed to").inner_text()
        after_img = page.locator(".widget-output img").first.get_attribute("src")
        assert "specialist C" in after_text and after_text != before_text
        assert after_img != before_img
        assert "right" in after_text or "wrong" in after_text  # the sample's right/wrong marker
        assert page.get_by_text("Classify your own image").count() == 1
        assert page.locator(".widget-upload").count() == 1
        page.locator(".widget-output").first.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
        browser.close()
    assert (tmp_path / "explorer.png").stat().st_size > 10_000
