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


def test_the_benchmark_keeps_a_measured_run_once_its_checkpoint_is_gone(
    runs, tmp_path, monkeypatch
):
    """benchmarks/inside_learned.py runs as a plan proceeds: a run measured once stays in
    ``learned.json`` after its checkpoint is deleted, and a replaced run is measured anew."""
    import json
    import shutil
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import inside_learned

    monkeypatch.setattr(inside_learned, "N_PER_DATASET", 24)
    monkeypatch.setattr(inside_learned, "N_ATTENTION", 4)
    monkeypatch.setattr(inside_learned, "K", 4)
    root, out = tmp_path / "runs", tmp_path / "inside"
    for arm, method in (("mosaic", "mos"), ("shared", "adapter")):
        shutil.copytree(runs[method], root / arm / "real4" / "seed5")
    argv = [
        "inside_learned.py",
        "--runs",
        str(root),
        "--arms",
        "mosaic",
        "shared",
        "--out",
        str(out),
    ]
    monkeypatch.setattr(sys, "argv", argv)
    assert inside_learned.main() == 0
    first = json.loads((out / "learned.json").read_text())["runs"]
    assert (
        set(first) == {"mosaic", "shared"} and len(first["mosaic"]["seed5"]["results_sha256"]) == 64
    )
    for arm in ("mosaic", "shared"):
        (root / arm / "real4" / "seed5" / "best.safetensors").unlink()
    assert inside_learned.main() == 0
    assert json.loads((out / "learned.json").read_text())["runs"] == first
    # the mosaic run replaced by another (its results differ): the old numbers are not kept
    (root / "mosaic" / "real4" / "seed5" / "results.json").write_text("{}")
    assert inside_learned.main() == 0
    assert set(json.loads((out / "learned.json").read_text())["runs"]) == {"shared"}
    # a learned.json of another shape is named, not half-read
    (out / "learned.json").write_text("[1, 2]")
    with pytest.raises(SystemExit, match="not a learned.json this script wrote"):
        inside_learned.main()


def test_a_runs_initial_model_is_the_one_its_training_started_from(tmp_path):
    """``Workbench.from_run(run, "initial")`` rebuilds the model before the first step from the
    run's configuration and seed: after one AdamW step of lr 1e-3 the frozen tensors equal it
    exactly and the trained ones are at most about one step from it, while another seed's
    initialisation is far away."""
    from mosaic_kit.viz.workbench import Workbench

    run = train(
        tiny_cfg(
            tmp_path,
            datasets=["breastmnist"],
            rounds=1,
            steps_per_dataset=1,
            warmup_steps=0,
            lr=1e-3,
            weight_decay=0.0,
            seed=11,
        ),  # fmt: skip
        progress=False,
    )

    def weights(wb):
        return {n: (p.detach().clone(), p.requires_grad) for n, p in wb.model.named_parameters()}

    trained = weights(Workbench.from_run(run, "best"))
    initial_wb = Workbench.from_run(run, "initial")
    initial = weights(initial_wb)
    other = weights(Workbench.untrained(tiny_cfg(tmp_path, datasets=["breastmnist"], seed=12)))
    assert "at initialisation, rebuilt from seed 11" in initial_wb.source and not initial_wb.trained
    assert set(trained) == set(initial) == set(other)

    def gap(a, b, trainable):
        return max(float((a[n][0] - b[n][0]).abs().max()) for n in a if a[n][1] == trainable)

    assert gap(trained, initial, trainable=False) == 0.0  # the frozen backbone, rebuilt exactly
    assert 1e-4 < gap(trained, initial, trainable=True) < 1.5e-3  # one step of lr 1e-3
    assert gap(other, initial, trainable=False) > 1e-2 and gap(other, initial, True) > 1e-2
