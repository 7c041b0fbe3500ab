"""Warnings in words where a run's scores would mislead: synthetic data, a random backbone, a
dataset not learnt beyond the class prior; in compare, predict and model cards."""

from __future__ import annotations

import numpy as np

from mosaic_kit.cli import main
from mosaic_kit.evaluation.caveats import not_learnt, run_caveats
from mosaic_kit.share.model_card import model_card

MAJORITY_ONLY = {"acc": 0.731, "auc": 0.43}  # answers "benign" for everything: Breast's prior


def _results(test, real=True, pretrained=True, best_round=3):
    return {
        "datasets": {"breastmnist": {"val": test, "test": test}},
        "last": {
            "datasets": {"breastmnist": {"val": test, "test": {"acc": 0.9, "auc": 0.95}}},
            "round": 7,
        },
        "majority": {"breastmnist": 0.731},
        "best_round": best_round,
        "provenance": {
            "datasets": {"breastmnist": "same-splits" if real else "synthetic"},
            "backbone": {"backbone": "test_vit", "pretrained": pretrained},
            "evaluation": "complete",
        },
    }


def test_a_majority_class_model_is_named_as_not_learnt():
    found = not_learnt(_results(MAJORITY_ONLY))
    assert list(found) == ["breastmnist"] and len(found["breastmnist"]) == 2
    assert not not_learnt(_results({"acc": 0.86, "auc": 0.91}))
    # accuracy above the prior but no ranking: still flagged, for the AUC alone
    assert "AUC 0.52" in not_learnt(_results({"acc": 0.80, "auc": 0.52}))["breastmnist"][0]
    # the last checkpoint is judged by its own scores
    assert not not_learnt(_results(MAJORITY_ONLY), "last")


def test_synthetic_data_and_a_random_backbone_are_said_in_words():
    words = run_caveats(_results({"acc": 1.0, "auc": 1.0}, real=False, pretrained=False))
    assert len(words) == 2
    assert "synthetic stand-in data (breastmnist)" in words[0] and "real scans" in words[0]
    assert "never pretrained" in words[1]
    assert run_caveats(_results({"acc": 0.86, "auc": 0.91})) == []


def _manifest(checkpoint="best"):
    return {
        "backbone": {"name": "test_vit", "weights": None},
        "datasets": {
            "breastmnist": {
                "modality": "2D",
                "task": "binary-class",
                "classes": {"0": "malignant", "1": "normal, benign"},
                "data": "same-splits",
            }
        },
        "method": "mos",
        "mosaic_kit": "0",
        "checkpoint": checkpoint,
        "seed": 42,
    }


def test_the_model_card_warns_and_counts_rounds_as_the_log_does():
    card = model_card(_manifest(), _results(MAJORITY_ONLY), {"rounds": 8})
    assert "- **Warning**: breastmnist: test ACC 73.1%" in card and "has not learnt" in card
    assert "Best round 4 of 8" in card  # best_round 3 is the log's "round 4/8"
    last = model_card(_manifest("last"), _results(MAJORITY_ONLY), {"rounds": 8})
    assert "| 90.0 | 95.0 |" in last and "Last round, 8 of 8" in last and "Warning" not in last


def test_compare_warns_about_runs_that_learnt_nothing(tmp_path, capsys):
    from test_compare import _fake_run

    rng = np.random.default_rng(0)
    y = (rng.random(156) < 0.269).astype(int)  # 73.1% of class 0, Breast's prior
    constant = np.tile([0.8, 0.2], (156, 1))  # every sample "class 0"
    for seed in (1, 2, 3, 4, 5):
        _fake_run(tmp_path, "flat", seed, (y.reshape(-1, 1), constant))
    assert main(["compare", str(tmp_path / "flat"), "--boot", "200"]) == 0
    out = capsys.readouterr().out
    assert "Warning (A): breastmnist was not learnt beyond the class prior in 5 of 5 runs" in out


def test_the_score_figure_draws_the_majority_rate_and_auc_half_as_floors():
    import matplotlib

    matplotlib.use("Agg")
    from mosaic_kit.viz.run_figures import test_scores_figure

    results = _results(MAJORITY_ONLY)
    results["teacher"] = {"datasets": results["datasets"]}
    fig = test_scores_figure(results)
    acc, auc = fig.axes
    floors = [c.get_offsets()[:, 1].tolist() for c in acc.collections]
    assert floors == [[0.731]]  # Breast's majority rate, not 1/#classes (0.5)
    assert [line.get_ydata()[0] for line in auc.get_lines()] == [0.5]
    assert "majority class" in [t.get_text() for t in acc.get_legend().get_texts()]
