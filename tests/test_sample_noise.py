"""benchmarks/sample_noise.py on the committed per-sample outputs of cpu-real's 5 seeds (real
AdrenalMNIST3D)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "reports" / "cpu-real-seeds" / "runs"


def _module():
    spec = importlib.util.spec_from_file_location(
        "sample_noise", ROOT / "benchmarks" / "sample_noise.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(
    not RUNS.is_dir(), reason="the committed cpu-real-seeds report is not in this checkout"
)
def test_the_adrenal_interval_is_mostly_test_set_noise_and_the_needed_mean_follows_from_it(capsys):
    mod = _module()
    ((label, d, n, k, both, half, need),) = mod.rows([RUNS], ["adrenalmnist3d"], "auc", 82.7, 4000)
    assert (label, d, n, k) == ("8x80", "adrenalmnist3d", 298, 5)
    # the report's own interval (same rule, same resamples): 81.7 [77.0, 86.5]
    assert (round(100 * both.mean, 1), round(100 * both.low, 1), round(100 * both.high, 1)) == (
        81.7,
        77.0,
        86.5,
    )
    # one run's interval over the 298 volumes alone: most of the width
    assert 4.0 < 100 * half < 7.0
    assert need == pytest.approx(0.827 + both.mean - both.low)
    assert (
        mod.main(
            [str(RUNS), "--dataset", "adrenalmnist3d", "--reference", "82.7", "--n-boot", "200"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| 8x80 | adrenalmnist3d | 298 | 5 |" in out and "clear 82.7" in out
