"""Every numeric key is range-checked where the configuration is read, the key named in the
message: values that make training degenerate or exhaust the machine never reach a library."""

from __future__ import annotations

import pytest

from mosaic_kit.cli import main
from mosaic_kit.config import load_config


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("patch_3d", 0, "patch_3d must be > 0"),
        ("adapter_scale", 1e30, "adapter_scale must be at most 100"),
        ("consistency_weight", 1e30, "consistency_weight must be at most 100"),
        ("lr", 1e308, "lr must be at most 1"),
        ("weight_decay", 1e30, "weight_decay must be at most 1"),
        ("threads", 100000, "threads must be at most 1024"),
        ("img_size", 4096, "img_size must be at most 1024"),
        ("vol_size", 1000, "vol_size must be at most 256"),
        ("device", "tpu", "device must be auto, cpu, cuda, cuda:N or mps (got 'tpu')"),
    ],
)
def test_degenerate_values_are_refused_by_name(key, value, words):
    with pytest.raises(ValueError, match="Invalid configuration") as err:
        load_config("cpu-tiny", overrides={key: value})
    assert words in str(err.value)


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", "mps"])
def test_every_device_form_is_accepted(device):
    assert load_config("cpu-tiny", overrides={"device": device}).device == device


@pytest.mark.parametrize("boot", ["-5", "0", "1", "10000000", "many"])
def test_compare_refuses_resample_counts_that_cannot_give_an_interval(boot, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["compare", "runs/none", "--boot", boot])
    assert stop.value.code == 2 and "argument --boot" in capsys.readouterr().err
