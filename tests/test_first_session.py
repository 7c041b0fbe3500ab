"""A newcomer's first commands: mistakes are reported before torch is imported, a Python without
the kit's environment is told to activate it, and ``--dry-run`` finds missing files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "timm", "medmnist", "scipy", "pandas")  # seconds each; numpy is not

PROBE = """
import json, sys
from mosaic_kit.cli import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "heavy": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)


def _cli_in_fresh_python(*argv: str, pre: str = "") -> tuple[dict, str]:
    done = subprocess.run(
        [sys.executable, "-c", pre + PROBE, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--preset", "cpu-tinyy"], "Unknown preset 'cpu-tinyy'"),
        (["--preset", "cpu-tiny", "--set", "lrr=0.1"], "Did you mean 'lr'?"),
        (["--preset", "cpu-tiny", "--set", "lr=-1"], "lr"),
        (["--preset", "cpu-tiny", "--set", "bottleneck_a=0"], "bottleneck_a must be > 0"),
        (["--preset", "cpu-tiny", "--set", "datasets=breastmnis"], "Did you mean 'breastmnist'?"),
        (["--preset", "cpu-tiny", "--set", "method=moss"], "Did you mean 'mos'?"),
        (
            [
                "--preset",
                "cpu-tiny",
                "--set",
                "datasets=pathmnist",
                "--set",
                "routing={pathmnist: D}",
            ],
            "valid specialists are A, B, C",
        ),
    ],
)
def test_configuration_mistakes_are_reported_before_any_heavy_import(argv, words):
    out, err = _cli_in_fresh_python("train", *argv, "--out", "/nonexistent/never-written")
    assert out == {"rc": 2, "heavy": []}, err
    assert words in err and "Traceback" not in err


def test_a_python_without_the_environment_is_told_to_activate_it():
    # torch made unimportable, as in a shell where .venv is not active
    out, err = _cli_in_fresh_python(
        "params", "--preset", "cpu-tiny", pre="import sys; sys.modules['torch'] = None\n"
    )
    assert out["rc"] == 2 and "Traceback" not in err
    assert "'torch' is not installed in this Python" in err
    assert "source .venv/bin/activate" in err and "make venv" in err


def test_dry_run_checks_the_data_files_and_the_weights(tmp_path, capsys):
    from mosaic_kit.cli import main

    args = ["train", "--preset", "cpu-tiny", "--dry-run", "--out", str(tmp_path / "run")]
    folder = tmp_path / "medmnist"  # misspelt: does not exist
    assert main([*args, "--set", f"data_root={folder}", "--set", "datasets=breastmnist"]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'breastmnist.npz'} is missing (the folder {folder} does not exist)" in err
    folder.mkdir()
    assert main([*args, "--set", f"data_root={folder}", "--set", "datasets=breastmnist"]) == 2
    assert "breastmnist.npz is missing and download is off" in capsys.readouterr().err
    on = ["--set", f"data_root={folder}", "--set", "datasets=breastmnist", "--set", "download=true"]
    assert main([*args, *on]) == 0  # said, not silently passed: these files come from the network
    assert "1 data file(s) are not there yet and will be downloaded" in capsys.readouterr().out
    weights = tmp_path / "vit.safetensors"
    assert main([*args, "--set", f"weights={weights}"]) == 2
    assert f"weights file {weights} does not exist" in capsys.readouterr().err
    assert main(args) == 0  # synthetic data, no weights file: nothing missing
    assert "every input file is there" in capsys.readouterr().out
    assert not (tmp_path / "run").exists()  # a dry run writes nothing


def test_the_example_images_are_the_synthetic_suites_own():
    from PIL import Image

    from mosaic_kit.data.synthetic import make_dataset

    data = make_dataset("breastmnist", 28, seed=0)
    files = sorted((ROOT / "examples" / "breastmnist").glob("*.png"))
    assert len(files) == 3
    for i, f in enumerate(files):
        assert f.name == f"synthetic-test-{i}-label{int(data['test_labels'][i][0])}.png"
        assert (np.asarray(Image.open(f)) == data["test_images"][i]).all()
