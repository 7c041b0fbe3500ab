"""A suite keeps a finished run when its plan entry changes only in spelling: a key pinned at the value the run
recorded (or, for a key newer than the run, the value it had then) resolves to the same configuration."""
import json
from pathlib import Path

from mosaic_kit.config import load_config
from mosaic_kit.suite import is_done, load_plan


def _plan(tmp_path, overrides):
    plan = tmp_path / "p.yaml"
    plan.write_text(json.dumps({"name": "p", "preset": "cpu-tiny", "overrides": overrides, "methods": ["mos"],
                                "datasets": ["breastmnist"], "seeds": [1], "out": str(tmp_path / "runs")}))
    return load_plan(plan, root=tmp_path).runs[0]


def _finish(spec, **recorded):
    """What a finished run leaves: results.json with its configuration, its per-sample outputs, suite.json with its
    entry."""
    d = Path(spec.run_dir)
    d.mkdir(parents=True)
    cfg = load_config(spec.parameters["preset"], overrides={**spec.parameters["overrides"], "out": str(d)}).to_dict()
    for key in recorded.pop("_drop", ()):
        cfg.pop(key)  # a key this run's version of the kit did not have
    (d / "results.json").write_text(json.dumps({"config": {**cfg, **recorded}}))
    (d / "suite.json").write_text(json.dumps(spec.fingerprint()))
    (d / "predictions.npz").write_bytes(b"")


def test_pinning_a_key_at_the_recorded_value_keeps_the_run(tmp_path):
    _finish(_plan(tmp_path, {"rounds": 2}))
    assert is_done(_plan(tmp_path, {"rounds": 2}))
    assert is_done(_plan(tmp_path, {"rounds": 2, "lr": 3.0e-3}))  # cpu-tiny's own lr: the same configuration
    assert not is_done(_plan(tmp_path, {"rounds": 2, "lr": 1.0e-3}))  # another run: trained afresh


def test_a_key_newer_than_the_run_counts_at_the_value_it_had(tmp_path):
    weights = str(tmp_path / "w.safetensors")
    _finish(_plan(tmp_path, {"weights": weights}), _drop=["tokenizer_3d_init"])  # before the key: random
    assert is_done(_plan(tmp_path, {"weights": weights, "tokenizer_3d_init": "random"}))
    assert not is_done(_plan(tmp_path, {"weights": weights, "tokenizer_3d_init": "inflate"}))


def test_a_run_whose_recorded_configuration_differs_is_not_done(tmp_path):
    spec = _plan(tmp_path, {"rounds": 2})
    _finish(spec, lr=0.5)  # e.g. the preset changed since: same entry, another configuration
    assert not is_done(spec)


def test_a_run_without_per_sample_outputs_is_trained_again(tmp_path):
    """A run of a kit before per-sample outputs cannot enter a paired comparison: the suite re-runs it."""
    spec = _plan(tmp_path, {"rounds": 2})
    _finish(spec)
    (Path(spec.run_dir) / "predictions.npz").unlink()
    assert not is_done(spec)


def test_report_records_are_the_finished_runs_only(tmp_path):
    """The report's runs/ holds a copy of every finished run's records, and no record of a run it does not show."""
    from mosaic_kit.suite import keep_run_records

    spec = _plan(tmp_path, {"rounds": 2})
    _finish(spec)
    (Path(spec.run_dir) / "config.yaml").write_text("rounds: 2\n")
    folder = tmp_path / "report" / "runs"
    stale = folder / "old-label" / "breastmnist" / "seed9"
    stale.mkdir(parents=True)
    (stale / "suite.json").write_text("{}")
    kept = keep_run_records(load_plan(tmp_path / "p.yaml", root=tmp_path), folder)
    assert kept == [folder / "mos" / "breastmnist" / "seed1"] and not stale.exists()
    assert {p.name for p in kept[0].iterdir()} == {"results.json", "predictions.npz", "config.yaml", "suite.json"}
