"""benchmarks/hardware_twins.py: runs present on both machines are paired, their differences and
the arm's seed spread on the second machine reported; a run on one machine only is left out."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import hardware_twins  # noqa: E402


def _run(root: Path, label: str, seed: int, acc: float, auc: float, device: str) -> None:
    d = root / label / "real4" / f"seed{seed}"
    d.mkdir(parents=True)
    scores = {"test": {"acc": acc, "auc": auc}}
    (d / "results.json").write_text(
        json.dumps(
            {
                "datasets": {"breastmnist": scores, "pneumoniamnist": scores},
                "environment": {"torch": "2.x"},
                "config": {"device": device, "amp": "auto"},
            }
        )
    )


def test_twins_are_paired_with_the_seed_spread_of_the_second_machine(tmp_path, capsys):
    a, b = tmp_path / "cpu", tmp_path / "gpu"
    _run(a, "mosaic", 42, 0.80, 0.90, "cpu")
    _run(a, "mosaic", 7, 0.50, 0.50, "cpu")  # no twin: left out
    for seed, acc in ((42, 0.82), (123, 0.84), (456, 0.86)):
        _run(b, "mosaic", seed, acc, 0.89, "cuda")
    assert hardware_twins.main(["--a", str(a), "--b", str(b), "--out", str(tmp_path / "o")]) == 0
    res = json.loads((tmp_path / "o" / "twins.json").read_text())
    (pair,) = res["pairs"]
    assert pair["run"] == "mosaic/real4/seed42" and "device cuda" in pair["b_env"]
    assert pair["b_minus_a"]["mean"]["acc"] == pytest.approx(2.0)
    assert pair["b_minus_a"]["mean"]["auc"] == pytest.approx(-1.0)
    assert res["seed_std_b"]["mosaic"]["mean"]["acc"] == pytest.approx(2.0)  # 82, 84, 86
    assert "| mosaic/real4/seed42 | +2.0 | -1.0 |" in (tmp_path / "o" / "twins.md").read_text()


def test_no_common_run_is_refused(tmp_path):
    _run(tmp_path / "a", "mosaic", 1, 0.8, 0.9, "cpu")
    _run(tmp_path / "b", "mosaic", 2, 0.8, 0.9, "cuda")
    with pytest.raises(SystemExit, match="No run is in both"):
        hardware_twins.main(
            ["--a", str(tmp_path / "a"), "--b", str(tmp_path / "b"), "--out", str(tmp_path / "o")]
        )


@pytest.mark.parametrize(
    "text,why",
    [
        ("{not json", "cannot be read back"),
        ("[1, 2]", "holds a list"),
        ('{"datasets": {"breastmnist": {}}}', "no test ACC and AUC"),
    ],
)
def test_a_damaged_or_foreign_results_file_is_named(tmp_path, text, why):
    _run(tmp_path / "a", "mosaic", 1, 0.8, 0.9, "cpu")
    _run(tmp_path / "b", "mosaic", 1, 0.8, 0.9, "cuda")
    (tmp_path / "b" / "mosaic" / "real4" / "seed1" / "results.json").write_text(text)
    with pytest.raises((SystemExit, ValueError), match="results.json") as err:
        hardware_twins.main(
            ["--a", str(tmp_path / "a"), "--b", str(tmp_path / "b"), "--out", str(tmp_path / "o")]
        )
    assert why in str(err.value)
