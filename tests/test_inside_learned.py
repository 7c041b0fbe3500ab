"""Learned against built-in separation (``mosaic_kit.viz.learned``): the same measurements on a
trained run and on the same model at initialisation, rebuilt from its seed."""

import numpy as np
import pytest
import torch
from conftest import tiny_cfg

from mosaic_kit.train import train
from mosaic_kit.viz.learned import attention_shift, learned_vs_initial, mean_angle

DATASETS = ["breastmnist", "pneumoniamnist", "adrenalmnist3d"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for method in ("mos", "adapter"):
        tmp = tmp_path_factory.mktemp(method)
        torch.manual_seed(0)
        out[method] = train(
            tiny_cfg(
                tmp,
                method=method,
                datasets=DATASETS,
                rounds=1,
                # fmt: skip
                steps_per_dataset=3,
                lr=3e-2,
                seed=5,
            ),
            progress=False,
        )
    return out


def test_the_initial_model_is_the_same_for_every_arm_and_training_moves_away_from_it(runs):
    got = {m: learned_vs_initial(r, n_per_dataset=24, k=4, n_attention=4) for m, r in runs.items()}
    mos, shared = got["mos"], got["adapter"]
    # at initialisation the adapters add nothing: the 2D datasets' CLS features are the frozen
    # backbone's, the same for both arms at one seed (the 3D tokenizer and the heads are drawn
    # after the adapters, so their initial values differ between arms)
    pair = "breastmnist|pneumoniamnist"
    assert mos["initial"]["cls"][pair] == pytest.approx(shared["initial"]["cls"][pair], abs=1e-6)
    # ... and training moved them
    assert any(abs(mos["trained"]["cls"][p] - mos["initial"]["cls"][p]) > 1e-3
               for p in mos["initial"]["cls"])  # fmt: skip
    # hidden activations are compared only within one module: MOSAIC's specialist B holds Breast
    # and Pneumonia; the shared adapter holds every pair
    assert set(mos["initial"]["hidden"]) == {"breastmnist|pneumoniamnist"}
    assert len(shared["initial"]["hidden"]) == 3
    for result in got.values():
        for split in ("initial", "trained"):
            assert all(0 <= v <= 90 for v in result[split]["hidden"].values())
        assert set(result["attention"]) == set(DATASETS)
        assert all(-1 <= v <= 1 for v in result["attention"].values())


def test_the_measurements_on_known_inputs():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 6)) @ np.diag([5, 4, 3, 0.01, 0.01, 0.01])
    assert mean_angle(a, a * 2 + 1, k=3) == pytest.approx(0, abs=1e-5)  # same subspace
    b = a[:, ::-1]  # variance on the other three axes: orthogonal subspaces
    assert mean_angle(a, b, k=3) == pytest.approx(90, abs=0.1)
    assert np.isnan(mean_angle(np.ones((10, 4)), a[:10, :4], k=2))  # no variation: no subspace
    with pytest.raises(ValueError, match="more than k=8 rows"):
        mean_angle(a[:5], a, k=8)


def test_attention_of_a_model_against_itself_is_unmoved(runs):
    from mosaic_kit.viz.workbench import Workbench

    wb = Workbench.from_run(runs["mos"])
    assert attention_shift(wb, wb, "breastmnist", 3) == pytest.approx(1.0)
