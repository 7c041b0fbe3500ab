"""The explorer's callbacks, driven by setting widget values (no browser)."""

import matplotlib

matplotlib.use("Agg")

import pytest
from conftest import tiny_cfg

from mosaic_kit.app.explorer import UNTRAINED, Explorer
from mosaic_kit.train import train


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    cfg = tiny_cfg(tmp_path_factory.mktemp("explorer"), rounds=1, steps_per_dataset=2)
    return train(cfg, progress=False)


def test_untrained_explorer_is_labelled_and_follows_widgets(tmp_path):
    ex = Explorer(cfg=tiny_cfg(tmp_path))
    st = ex.state
    assert st["source"] == UNTRAINED and not st["trained"] and ex.checkpoint.disabled
    assert "untrained" in ex.info.value
    assert (
        st["dataset"] == "pathmnist"
        and st["routed"] == "A"
        and set(st["predictions"]) == {"A", "B", "C", "none"}
    )
    assert ex.slice.disabled

    ex.dataset.value = "adrenalmnist3d"
    st = ex.state
    assert st["dataset"] == "adrenalmnist3d" and st["routed"] == "C" and st["is_3d"]
    # 28^3 synthetic volumes
    assert not ex.slice.disabled and ex.slice.max == 27 and st["slice"] == 14
    assert ex.index.max == st["n_samples"] - 1

    ex.index.value = 5
    assert ex.state["index"] == 5 and "sample #5" in ex.info.value
    assert ex.state["label"] == ex.wb.raw("adrenalmnist3d", "test", [5])[1][0].tolist()
    ex.slice.value = 3
    assert ex.state["slice"] == 3

    ex.split.value = "val"
    assert ex.state["split"] == "val" and ex.index.max == ex.state["n_samples"] - 1 <= 63

    ex.mode.value = "grid"
    grid = ex.state["grid"]
    assert len(grid) == ex.grid_size and grid[0]["index"] == ex.state["index"]
    assert "predictions" not in ex.state


def test_explorer_switches_checkpoints_and_models(trained_run):
    ex = Explorer(run_dir=str(trained_run))
    assert (
        ex.state["trained"]
        and ex.state["checkpoint"] == "best"
        and set(ex.checkpoint.options) == {"best", "last"}
    )
    assert "best checkpoint" in ex.state["source"] and "untrained" not in ex.info.value
    ex.checkpoint.value = "last"
    assert "last checkpoint" in ex.state["source"]
    ex.which.value = "teacher"
    assert ex.state["model"] == "teacher"
    ex.dataset.value = "breastmnist"
    assert ex.state["routed"] == "B" and ex.state["label_text"].split(":")[0] in {"0", "1"}
    # the embedded suite is synthetic: classes are numbered, never given BreastMNIST's real names
    assert ex.state["synthetic"] and ex.state["label_text"].endswith(
        f"synthetic class {ex.state['label'][0]}"
    )
    assert all(p["name"].startswith("synthetic class") for p in ex.state["predictions"].values())
    assert "synthetic data" in ex.info.value and "malignant" not in ex.info.value


def test_explorer_without_checkpoint_says_so(tmp_path):
    (tmp_path / "config.yaml").write_text("backbone: test_vit\n")
    with pytest.raises(FileNotFoundError, match="holds no checkpoint"):
        Explorer(run_dir=str(tmp_path))


def test_explorer_marks_right_and_wrong_shows_run_metrics_and_classifies_uploads(
    trained_run, tmp_path
):
    import datetime
    import io
    import json

    import numpy as np
    from PIL import Image

    ex = Explorer(run_dir=str(trained_run))
    st = ex.state
    routed = st["predictions"][st["routed"]]
    assert st["correct"] == (routed["class"] == st["label"][0])
    assert ("✓ right" if st["correct"] else "✗ wrong") in ex.info.value
    results = json.loads((trained_run / "results.json").read_text())
    assert st["metrics"]["acc"] == results["datasets"]["pathmnist"]["test"]["acc"]
    assert f"ACC <b>{st['metrics']['acc']:.3f}</b>" in ex.info.value
    ex.mode.value = "grid"
    grid = ex.state["grid"]
    assert all(c["correct"] == (c["pred"] == int(c["label"].split(":")[0])) for c in grid)
    assert f"{sum(c['correct'] for c in grid)} of {len(grid)} right" in ex.info.value

    buf = io.BytesIO()
    Image.fromarray(
        np.random.default_rng(0).integers(0, 256, (40, 40, 4), dtype=np.uint8), "RGBA"
    ).save(buf, "PNG")
    ex.upload.value = (
        {
            "name": "mine.png",
            "type": "image/png",
            "size": buf.tell(),
            "content": memoryview(buf.getvalue()),
            "last_modified": datetime.datetime(2026, 1, 1),
        },
    )
    up = ex.state["upload"]
    assert up["file"] == "mine.png" and up["dataset"] == "pathmnist" and up["specialist"] == "A"
    assert "mine.png" in ex.upload_info.value and up["label"] in ex.upload_info.value
    # the run learnt synthetic data: no real class names
    assert up["label"].startswith("synthetic class")
    ex.dataset.value = (
        "adrenalmnist3d"  # a 2D file for a 3D dataset: said in the widget, nothing raised
    )
    assert "3D dataset" in ex.classify_file(_png(tmp_path))["error"]


def _png(folder):
    import numpy as np
    from PIL import Image

    Image.fromarray(np.zeros((20, 20), np.uint8)).save(folder / "flat.png")
    return folder / "flat.png"


def test_outside_jupyter_the_explorer_prints_no_figure_reprs(tmp_path):
    """A script that drives the explorer (as the screenshot script does) printed
    `Figure(980x280)` per view."""
    import subprocess
    import sys

    code = (
        "import matplotlib; matplotlib.use('Agg')\nfrom mosaic_kit.config import "
        "load_config\nfrom mosaic_kit.app.explorer import Explorer\nex = "
        "Explorer(preset='cpu-tiny', overrides={'datasets': ['breastmnist'], 'backbone': "
        f"'test_vit', 'img_size': 32, 'out': {str(tmp_path / 'r')!r}}})\nex.index.value = "
        "1\nprint('done')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Figure(" not in out.stdout and out.stdout.strip().endswith("done")
