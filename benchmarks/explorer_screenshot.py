"""The documentation's explorer screenshot: the explorer notebook in JupyterLab (headless Chromium),
on a run trained on real files with the ImageNet DeiT-Tiny weights, showing a wrongly classified 2D
test sample and a correctly classified 3D one (chosen here, on the test split, as the first of each
kind). The current picture:

    python -m mosaic_kit suite --plan plans/generalist-real4.yaml   # or only its first MOSAIC run
    python benchmarks/explorer_screenshot.py --run runs/generalist-real4/mosaic/real4/seed42 \\
        --wrong retinamnist --right adrenalmnist3d

An earlier picture came from a run on BreastMNIST and AdrenalMNIST3D:

    python -m mosaic_kit train --preset cpu-tiny --out runs/explorer-real \\
        --set data_root=PATH/TO/medmnist --set datasets=breastmnist,adrenalmnist3d \\
        --set backbone=deit_tiny_patch16_224 \\
        --set weights=PATH/TO/deit_tiny_patch16_224.safetensors \\
        --set bottleneck_a=64 --set bottleneck_b=96 --set bottleneck_c=192 --set rounds=6 \\
        --set steps_per_dataset=20 --set lr=1e-3 --set warmup_steps=20 --set patience=0
    python benchmarks/explorer_screenshot.py --run runs/explorer-real \\
        --out reports/explorer-browser.png
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from jupyter_lab import chromium, open_and_run_all, running_lab  # noqa: E402

#: No cell selection frames or collapser bars in the picture.
CLEAN = (
    ".jp-Notebook .jp-Cell.jp-mod-selected, .jp-Notebook .jp-Cell.jp-mod-active { background: "
    "transparent !important; border-color: transparent !important; } .jp-Collapser { visibility: "
    "hidden !important; }"
)


def crop(path: Path, margin: int = 16) -> None:
    """Cut the empty space below the notebook's last output."""
    import numpy as np
    from PIL import Image

    im = Image.open(path).convert("RGB")
    rows = np.flatnonzero((np.asarray(im).min(axis=(1, 2)) < 245))
    if rows.size:
        im.crop((0, 0, im.width, min(im.height, int(rows[-1]) + margin))).save(path)


def first_cases(run_dir: Path, wrong_dataset: str, right_dataset: str) -> tuple:
    """Indices of the first wrongly classified test sample of one dataset and the first right one
    of another."""
    import matplotlib

    matplotlib.use("Agg")
    from mosaic_kit.app.explorer import Explorer

    ex = Explorer(run_dir=str(run_dir))
    found = {}
    for name, want in ((wrong_dataset, False), (right_dataset, True)):
        ex.dataset.value = name
        for i in range(ex.state["n_samples"]):
            ex.index.value = i
            if ex.state["correct"] == want:
                found[name] = i
                break
        else:
            raise SystemExit(
                f"no {'right' if want else 'wrong'} test sample of {name} in {run_dir}"
            )
    return found[wrong_dataset], found[right_dataset]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/explorer-real")
    parser.add_argument("--out", default=str(ROOT / "reports" / "explorer-browser.png"))
    parser.add_argument(
        "--wrong", default="breastmnist", help="dataset whose first wrong test sample is shown"
    )
    parser.add_argument(
        "--right", default="adrenalmnist3d", help="dataset whose first right test sample is shown"
    )
    args = parser.parse_args()
    run = Path(args.run).resolve()
    wrong, right = first_cases(run, args.wrong, args.right)
    print(f"{args.wrong} test #{wrong} (wrong), {args.right} test #{right} (right)")

    from playwright.sync_api import sync_playwright

    book = nbformat.read(ROOT / "notebooks" / "05_explorer.ipynb", as_version=4)
    params = next(c for c in book.cells if "parameters" in c.metadata.get("tags", []))
    params.source += (
        f"\nimport os; os.chdir({str(ROOT)!r}); run_dir = {os.path.relpath(run, ROOT)!r}"
    )
    book.cells.append(
        nbformat.v4.new_code_cell(
            f'explorer.dataset.value = "{args.wrong}"\nexplorer.index.value = {wrong}'
        )
    )
    book.cells.append(
        nbformat.v4.new_code_cell(
            "second = Explorer(run_dir=run_dir, device=device)\nsecond.dataset.value = "
            f'"{args.right}"\n'
            f"second.index.value = {right}\nsecond"
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "lab").mkdir()
        nbformat.write(book, tmp / "lab" / "explorer.ipynb")
        with running_lab(tmp / "lab", tmp, "explorer.ipynb") as url, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1500, "height": 3400})
            open_and_run_all(page, url)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.widget-html-content')]"
                ".filter(e => e.innerText.includes('sample #')).length >= 2",
                timeout=300_000,
            )
            page.wait_for_timeout(4000)  # the last figures replace the first ones
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:hide-all-cell-code')")
            page.add_style_tag(content=CLEAN)
            page.evaluate("() => document.activeElement && document.activeElement.blur()")
            page.wait_for_timeout(1000)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.locator(".jp-Notebook").screenshot(path=args.out)
            browser.close()
    crop(Path(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
