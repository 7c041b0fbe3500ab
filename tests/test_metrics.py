import numpy as np
import pytest
from medmnist.evaluator import getACC, getAUC

from mosaic_kit.evaluation.metrics import compute_metrics, within_one_accuracy


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.mark.parametrize(
    "task, k",
    [
        ("binary-class", 2),
        ("multi-class", 9),
        ("ordinal-regression", 5),
        ("multi-label, binary-class", 14),
    ],
)
def test_matches_medmnist_evaluator(task, k):
    rng = np.random.default_rng(0)
    n = 300
    if task.startswith("multi-label"):
        y = (rng.random((n, k)) < 0.3).astype(int)
        score = 1 / (1 + np.exp(-(rng.normal(size=(n, k)) + 1.5 * y - 0.7)))
    else:
        y = rng.integers(0, k, (n, 1))
        logits = rng.normal(size=(n, k))
        logits[np.arange(n), y[:, 0]] += 1.0
        score = _softmax(logits)
    ours = compute_metrics(task, y, score)
    assert ours["acc"] == pytest.approx(getACC(y, score, task), abs=1e-12)
    assert ours["auc"] == pytest.approx(getAUC(y, score, task), abs=1e-12)
    assert 0.5 < ours["auc"] < 1.0


def test_known_values():
    y = np.array([[0], [1], [1], [0]])
    score = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    m = compute_metrics("binary-class", y, score)
    assert m["acc"] == 0.5 and m["auc"] == 0.75
    # ordinal: argmax accuracy; +-1 accuracy only as its own number
    y = np.array([0, 2, 4, 1])
    s = np.eye(5)[[1, 2, 2, 1]]
    assert compute_metrics("ordinal-regression", y, s)["acc"] == 0.5
    assert within_one_accuracy(y, s) == 0.75


def test_single_class_auc_is_nan_not_crash():
    m = compute_metrics("binary-class", np.zeros((4, 1)), np.full((4, 2), 0.5))
    assert np.isnan(m["auc"]) and m["acc"] == 1.0
    with pytest.raises(ValueError, match="Unknown task"):
        compute_metrics("regression", np.zeros(3), np.zeros((3, 2)))


def test_majority_rate_by_hand():
    from mosaic_kit.evaluation.metrics import majority_accuracy

    train, test = np.array([[0], [1], [1], [1]]), np.array([[1], [0], [1], [0], [1]])
    # class 1 is the majority; 3 of 5 test are 1
    assert majority_accuracy("binary-class", train, test) == 3 / 5
    ml_train = np.array([[1, 0], [1, 0], [0, 1]])  # per label: 1 (2/3), 0 (1/3)
    ml_test = np.array([[1, 1], [0, 0]])
    assert majority_accuracy("multi-label, binary-class", ml_train, ml_test) == 2 / 4


def test_bootstrap_interval_by_hand():
    """The vectorised bootstrap equals scoring each resample with compute_metrics (ties in the
    scores count half in the AUC, as in scikit-learn)."""
    from mosaic_kit.evaluation.metrics import bootstrap_ci, compute_metrics

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    s = np.round(np.clip(y * 0.3 + rng.random(200) * 0.7, 0, 1), 2)
    ci = bootstrap_ci("binary-class", y, s, n_boot=300, seed=0)
    again = np.random.default_rng(0)  # the same resamples, scored one by one here
    draws = [
        compute_metrics("binary-class", y[idx], s[idx])
        for idx in (again.integers(0, 200, 200) for _ in range(300))
    ]
    for k in ("acc", "auc"):
        assert ci[k] == pytest.approx(tuple(np.percentile([d[k] for d in draws], [2.5, 97.5])))
    point = compute_metrics("binary-class", y, s)
    assert ci["acc"][0] < point["acc"] < ci["acc"][1] and ci["auc"][0] < point["auc"] < ci["auc"][1]
    assert bootstrap_ci("binary-class", y, s, n_boot=300, seed=0) == ci  # seeded


def test_retinamnist_scored_as_medmnist_evaluator_scores_it_on_the_real_file(tmp_path):
    """RetinaMNIST (5 ordinal grades) is scored as multi-class ACC and AUC, exactly as
    ``medmnist.Evaluator`` does on the real test split; the within-one-grade accuracy stays
    apart."""
    from conftest import REAL_MEDMNIST, need
    from medmnist import Evaluator

    from mosaic_kit.data import open_split

    root = need(REAL_MEDMNIST / "retinamnist.npz").parent
    split = open_split(root, "retinamnist", "test", cache_dir=tmp_path)
    y = np.asarray(split.labels)
    assert split.images.shape == (400, 28, 28, 3) and sorted(np.unique(y)) == [0, 1, 2, 3, 4]
    rng = np.random.default_rng(0)
    # informative, imperfect scores
    logits = rng.normal(size=(len(y), 5)) + 1.5 * np.eye(5)[y[:, 0]]
    scores = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    ours = compute_metrics("ordinal-regression", y, scores)
    theirs = Evaluator("retinamnist", "test", root=str(root)).evaluate(scores)
    assert ours["acc"] == pytest.approx(theirs.ACC, abs=1e-12) and ours["auc"] == pytest.approx(
        theirs.AUC, abs=1e-12
    )
    assert 0.4 < ours["acc"] < within_one_accuracy(y, scores) <= 1.0
