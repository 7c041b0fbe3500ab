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
