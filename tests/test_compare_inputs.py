"""compare checks the per-sample outputs it is given: a missing checkpoint, split or dataset,
scores that are not probabilities of the dataset's classes, no dataset in common, one run on both
sides: each a clear error, never a KeyError or a number computed from the wrong thing."""

from __future__ import annotations

import numpy as np
import pytest
from test_compare import _fake_run, _outputs_of

from mosaic_kit.cli import main
from mosaic_kit.evaluation.outputs import load_outputs, write_outputs


def _arms(tmp_path, dataset_b="breastmnist"):
    for seed in (1, 2, 3, 4, 5):
        strong, base = _outputs_of(0.3, seed)
        _fake_run(tmp_path, "a", seed, strong)
        _fake_run(tmp_path, "b", seed, base, dataset=dataset_b)


def _compare(tmp_path, capsys, *extra):
    rc = main(
        ["compare", str(tmp_path / "a"), "--against", str(tmp_path / "b"), "--boot", "200", *extra]
    )
    return rc, capsys.readouterr().err


def test_no_dataset_in_common_is_named(tmp_path, capsys):
    _arms(tmp_path, dataset_b="pneumoniamnist")
    rc, err = _compare(tmp_path, capsys)
    assert rc == 2 and "have no dataset in common" in err and "Traceback" not in err


def test_the_same_runs_on_both_sides_are_refused(tmp_path, capsys):
    _arms(tmp_path)
    rc = main(["compare", str(tmp_path / "a"), "--against", str(tmp_path / "a")])
    assert rc == 2 and "is on both sides" in capsys.readouterr().err


def test_a_missing_checkpoint_is_named_with_what_the_file_holds(tmp_path, capsys):
    _arms(tmp_path)
    run = tmp_path / "b" / "seed3"
    outputs = load_outputs(run)
    del outputs["last"]
    write_outputs(run, outputs)
    rc, err = _compare(tmp_path, capsys, "--checkpoint", "last")
    assert rc == 2 and "has no outputs of the student's 'last' checkpoint" in err
    assert "it holds best/student, best/teacher" in err


def test_a_run_missing_a_dataset_is_named(tmp_path, capsys):
    _arms(tmp_path)
    run = tmp_path / "a" / "seed2"
    outputs = load_outputs(run)
    for nets in outputs.values():
        for per in nets.values():
            per["pneumoniamnist"] = per["breastmnist"]
    write_outputs(run, outputs)  # seed 2 holds one more dataset than the other seeds
    rc, err = _compare(tmp_path, capsys)
    assert rc == 2 and "hold outputs of different datasets" in err and "seed2" in err


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda s: s[:, 1:], "has 1 column(s), but breastmnist has 2 classes"),
        (lambda s: s * 10 - 3, "are not probabilities in [0, 1]"),
        (lambda s: np.where(s > 0.5, np.nan, s), "are not probabilities in [0, 1]"),
    ],
)
def test_scores_that_are_not_the_classes_probabilities_are_refused(tmp_path, capsys, change, words):
    _arms(tmp_path)
    run = tmp_path / "a" / "seed4"
    outputs = load_outputs(run)
    y, s = outputs["best"]["student"]["breastmnist"]["test"]
    outputs["best"]["student"]["breastmnist"]["test"] = (y, change(s))
    write_outputs(run, outputs)
    rc, err = _compare(tmp_path, capsys)
    assert rc == 2 and words in err and "eval" in err


def test_outputs_copied_from_another_seed_are_refused(tmp_path, capsys):
    """Were paired without a word: seed 1's outputs scored as seed 2's. Files without a
    fingerprint (every committed record) are caught by the scores results.json records."""
    import shutil

    _arms(tmp_path)
    shutil.copy(tmp_path / "a" / "seed1" / "predictions.npz", tmp_path / "a" / "seed2")
    rc, err = _compare(tmp_path, capsys)
    assert rc == 2 and "Traceback" not in err
    assert "seed2/predictions.npz does not hold the outputs" in err and "results.json" in err
    assert "from the file" in err and "recorded" in err and "mosaic_kit eval" in err


def test_a_fingerprint_of_another_run_is_refused(tmp_path, capsys):
    import json

    from mosaic_kit.evaluation.outputs import read_fingerprint, run_fingerprint

    _arms(tmp_path)
    run = tmp_path / "a" / "seed2"
    config = json.loads((run / "results.json").read_text())["config"]
    outputs = load_outputs(run)
    write_outputs(run, outputs, config=config)  # its own fingerprint: accepted
    assert read_fingerprint(run / "predictions.npz") == run_fingerprint(config)
    assert _compare(tmp_path, capsys)[0] == 0
    write_outputs(run, outputs, config={**config, "seed": 7})
    rc, err = _compare(tmp_path, capsys)
    assert rc == 2 and "was written by another run (seed 7)" in err and "(seed 2)" in err
    write_outputs(run, outputs, config={**config, "lr": 0.5})
    rc, err = _compare(tmp_path, capsys)
    assert rc == 2 and "another configuration, same seed" in err
    # where the files are is not part of a run's identity: a moved or bundled run keeps it
    assert run_fingerprint({**config, "out": "/elsewhere", "data_root": "x", "threads": 2}) == (
        run_fingerprint(config)
    )


def test_a_trained_run_writes_its_fingerprint(tmp_path):
    import json

    import torch
    from conftest import tiny_cfg

    from mosaic_kit.evaluation.outputs import read_fingerprint, run_fingerprint
    from mosaic_kit.train import train

    torch.manual_seed(0)
    run = train(tiny_cfg(tmp_path, datasets=["breastmnist"], rounds=1, steps_per_dataset=1,
                         eval_max_samples=16, seed=11), progress=False)  # fmt: skip
    config = json.loads((run / "results.json").read_text())["config"]
    assert read_fingerprint(run / "predictions.npz") == run_fingerprint(config)
    assert read_fingerprint(run / "predictions.npz")["seed"] == 11
