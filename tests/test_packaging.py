import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ]", req, maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = {_name(r): r.replace(" ", "") for r in pip if not r.startswith("-e")}
    assert {_name(r): r.replace(" ", "") for r in wanted} == conda_pins


def test_cli_params_json_paper():
    out = subprocess.run([sys.executable, "-m", "mosaic_kit", "params", "--preset", "paper", "--json"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    report = json.loads(out.stdout)
    assert report["trainable"] == 7_395_570 and 92e6 < report["total"] < 94e6


def test_cli_bad_input_is_one_clear_line():
    out = subprocess.run([sys.executable, "-m", "mosaic_kit", "train", "--set", "datasets=breastmnst"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2
    assert "Unknown dataset 'breastmnst'" in out.stderr and "Traceback" not in out.stderr
