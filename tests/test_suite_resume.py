"""A suite keeps a finished run when its plan entry changes only in spelling: a key pinned at the
value the run recorded (or, for a key newer than the run, the value it had then) resolves to the
same configuration."""

import json
from pathlib import Path

import pytest

from mosaic_kit.config import load_config
from mosaic_kit.experiments.suite import is_done, load_plan


def _plan(tmp_path, overrides):
    plan = tmp_path / "p.yaml"
    plan.write_text(
        json.dumps(
            {
                "name": "p",
                "preset": "cpu-tiny",
                "overrides": overrides,
                "methods": ["mos"],
                "datasets": ["breastmnist"],
                "seeds": [1],
                "out": str(tmp_path / "runs"),
            }
        )
    )
    return load_plan(plan, root=tmp_path).runs[0]


def _finish(spec, **recorded):
    """What a finished run leaves: results.json with its configuration, its per-sample outputs,
    suite.json with its entry."""
    d = Path(spec.run_dir)
    d.mkdir(parents=True)
    cfg = load_config(
        spec.parameters["preset"], overrides={**spec.parameters["overrides"], "out": str(d)}
    ).to_dict()
    for key in recorded.pop("_drop", ()):
        cfg.pop(key)  # a key this run's version of the kit did not have
    (d / "results.json").write_text(json.dumps({"config": {**cfg, **recorded}}))
    (d / "suite.json").write_text(json.dumps(spec.fingerprint()))
    (d / "predictions.npz").write_bytes(b"")


def test_pinning_a_key_at_the_recorded_value_keeps_the_run(tmp_path):
    _finish(_plan(tmp_path, {"rounds": 2}))
    assert is_done(_plan(tmp_path, {"rounds": 2}))
    # cpu-tiny's own lr: the same configuration
    assert is_done(_plan(tmp_path, {"rounds": 2, "lr": 3.0e-3}))
    assert not is_done(_plan(tmp_path, {"rounds": 2, "lr": 1.0e-3}))  # another run: trained afresh


def test_a_key_newer_than_the_run_counts_at_the_value_it_had(tmp_path):
    weights = str(tmp_path / "w.safetensors")
    # before the key: random
    _finish(_plan(tmp_path, {"weights": weights}), _drop=["tokenizer_3d_init"])
    assert is_done(_plan(tmp_path, {"weights": weights, "tokenizer_3d_init": "random"}))
    assert not is_done(_plan(tmp_path, {"weights": weights, "tokenizer_3d_init": "inflate"}))


def test_a_run_whose_recorded_configuration_differs_is_not_done(tmp_path):
    spec = _plan(tmp_path, {"rounds": 2})
    _finish(spec, lr=0.5)  # e.g. the preset changed since: same entry, another configuration
    assert not is_done(spec)


def test_a_run_without_per_sample_outputs_is_trained_again(tmp_path):
    """A run of a kit before per-sample outputs cannot enter a paired comparison: the suite
    re-runs it."""
    spec = _plan(tmp_path, {"rounds": 2})
    _finish(spec)
    (Path(spec.run_dir) / "predictions.npz").unlink()
    assert not is_done(spec)


def test_report_records_are_the_finished_runs_only(tmp_path):
    """The report's runs/ holds a copy of every finished run's records, and no record of a run it
    does not show."""
    from mosaic_kit.experiments.suite import keep_run_records

    spec = _plan(tmp_path, {"rounds": 2})
    _finish(spec)
    (Path(spec.run_dir) / "config.yaml").write_text("rounds: 2\n")
    folder = tmp_path / "report" / "runs"
    stale = folder / "old-label" / "breastmnist" / "seed9"
    stale.mkdir(parents=True)
    (stale / "suite.json").write_text("{}")
    kept = keep_run_records(load_plan(tmp_path / "p.yaml", root=tmp_path), folder)
    assert kept == [folder / "mos" / "breastmnist" / "seed1"] and not stale.exists()
    assert {p.name for p in kept[0].iterdir()} == {
        "results.json",
        "predictions.npz",
        "config.yaml",
        "suite.json",
    }


def test_a_run_whose_suite_record_was_never_written_is_finished(tmp_path):
    """A suite stopped between a run's results and its record: the run's recorded configuration
    decides, so the next suite neither retrains it nor sets it aside; the record is written when
    the report copies it."""
    from mosaic_kit.experiments.suite import keep_run_records

    spec = _plan(tmp_path, {"rounds": 2})
    _finish(spec)
    (Path(spec.run_dir) / "suite.json").unlink()
    (Path(spec.run_dir) / "config.yaml").write_text("rounds: 2\n")
    assert is_done(spec)
    keep_run_records(load_plan(tmp_path / "p.yaml", root=tmp_path), tmp_path / "r")
    assert json.loads((Path(spec.run_dir) / "suite.json").read_text())["seed"] == 1
    (Path(spec.run_dir) / "suite.json").unlink()
    assert not is_done(_plan(tmp_path, {"rounds": 3}))  # another configuration is still another run


@pytest.mark.parametrize(
    "change,message",
    [
        (
            {"methods": [{"label": "a", "method": "mos"}, {"label": "a", "method": "lora"}]},
            "more than one methods entry",
        ),
        ({"seeds": [1, 1]}, "share the directory"),
        ({"grid": {"seed": [1, 2]}}, "cannot vary \\['seed'\\]"),
        ({"grid": {"datasets": [["breastmnist"]]}}, "cannot vary \\['datasets'\\]"),
        (
            {
                "methods": [{"label": "a", "method": "mos", "overrides": {"lr": 0.1}}],
                "grid": {"lr": [0.1, 0.2]},
            },
            "sets \\['lr'\\], which 'grid' also varies",
        ),
        ({"order": "random"}, "order: input should be 'labels' or 'seeds' \\(got 'random'\\)"),
        ({"contrasts": [{"a": "mos", "b": "lora"}]}, "names \\['lora'\\], not labels of the plan"),
        ({"contrasts": [{"a": "mos", "b": "mos"}]}, "compares a label with itself"),
        ({"contrasts": [{"a": "mos", "versus": "mos"}]}, "each contrast is"),
    ],
)
def test_a_plan_is_validated_whole(tmp_path, change, message):
    plan = {
        "name": "p",
        "preset": "cpu-tiny",
        "methods": ["mos"],
        "datasets": ["breastmnist"],
        "seeds": [1],
        "out": str(tmp_path / "runs"),
        **change,
    }
    (tmp_path / "p.yaml").write_text(json.dumps(plan))
    with pytest.raises(ValueError, match=message):
        load_plan(tmp_path / "p.yaml", root=tmp_path)


def test_order_seeds_runs_every_label_at_a_seed_before_the_next(tmp_path):
    plan = {
        "name": "p",
        "preset": "cpu-tiny",
        "methods": ["mos", "lora"],
        "datasets": ["breastmnist"],
        "seeds": [7, 3],
        "out": str(tmp_path / "runs"),
        "contrasts": [{"a": "mos", "b": "lora", "question": "q?"}],
    }
    (tmp_path / "p.yaml").write_text(json.dumps(plan))
    by_label = [(r.label, r.seed) for r in load_plan(tmp_path / "p.yaml", root=tmp_path).runs]
    assert by_label == [("mos", 7), ("mos", 3), ("lora", 7), ("lora", 3)]
    (tmp_path / "p.yaml").write_text(json.dumps({**plan, "order": "seeds"}))
    loaded = load_plan(tmp_path / "p.yaml", root=tmp_path)
    assert [(r.label, r.seed) for r in loaded.runs] == [
        ("mos", 7),
        ("lora", 7),
        ("mos", 3),
        ("lora", 3),
    ]
    assert loaded.contrasts == [{"a": "mos", "b": "lora", "question": "q?"}]


def test_a_second_suite_on_one_plan_stops_with_the_first_ones_pid(tmp_path):
    import os

    from mosaic_kit.experiments.suite import run_suite
    from mosaic_kit.train.lock import RunLock

    spec = _plan(tmp_path, {"rounds": 2})
    plan = load_plan(tmp_path / "p.yaml", root=tmp_path)
    with RunLock(plan.out, busy="held by {holder}"):
        with pytest.raises(
            RuntimeError, match=f"Another suite \\(pid {os.getpid()}\\) is running this plan's runs"
        ):
            run_suite(plan, progress=False)
    assert not Path(spec.run_dir).exists()  # nothing ran


def test_tables_skip_runs_a_suite_set_aside(tmp_path):
    from mosaic_kit.reports import find_runs

    for name in ("seed1", "seed1.replaced-1"):
        (tmp_path / "mos" / name).mkdir(parents=True)
        (tmp_path / "mos" / name / "results.json").write_text("{}")
    assert find_runs([tmp_path]) == [tmp_path / "mos" / "seed1"]
    assert find_runs([tmp_path / "mos" / "seed1.replaced-1"]) == [
        tmp_path / "mos" / "seed1.replaced-1"
    ]


def test_unknown_plan_keys_suggest_the_closest(tmp_path):
    (tmp_path / "p.yaml").write_text(
        json.dumps(
            {
                "name": "p",
                "methods": [{"method": "mos", "overide": {}}],
                "datasets": ["breastmnist"],
                "seeds": [1],
            }
        )
    )
    with pytest.raises(ValueError, match="did you mean 'overrides'"):
        load_plan(tmp_path / "p.yaml", root=tmp_path)
    (tmp_path / "p.yaml").write_text(
        json.dumps({"name": "p", "methods": ["mos"], "datasets": ["breastmnist"], "seed": [1]})
    )
    with pytest.raises(ValueError, match="did you mean 'seeds'"):
        load_plan(tmp_path / "p.yaml", root=tmp_path)


def test_a_fresh_clone_resumes_from_the_reports_records(tmp_path):
    """The run directories are not committed, the report's records are: a run finished there is
    not trained again, and rebuilding the report keeps its records."""
    import shutil

    from mosaic_kit.experiments.suite import keep_run_records

    spec = _plan(tmp_path, {"rounds": 2})
    _finish(spec)
    (Path(spec.run_dir) / "config.yaml").write_text("rounds: 2\n")
    plan = load_plan(tmp_path / "p.yaml", root=tmp_path)
    assert spec.record == str(
        tmp_path / "reports" / "suite-p" / "runs" / "mos" / "breastmnist" / "seed1"
    )
    keep_run_records(plan, Path(plan.report) / "runs")
    shutil.rmtree(tmp_path / "runs")  # a new clone: no run directories
    assert is_done(plan.runs[0])
    assert keep_run_records(plan, Path(plan.report) / "runs") == [Path(spec.record)]
    assert (Path(spec.record) / "predictions.npz").is_file()


def test_records_of_a_clone_elsewhere_stay_finished_unless_the_weights_differ(tmp_path):
    """A run trained where the data and weights lay at other absolute paths (another clone,
    another machine) counts as finished where the names agree and the weights file here has the
    sha256 the run recorded; a weights file with other content, or another data folder's name, is
    another run (and a report rebuilt from it drops nothing that still counts)."""
    import hashlib

    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"weights")
    (tmp_path / "medmnist").mkdir()
    here = {"weights": str(weights), "data_root": str(tmp_path / "medmnist")}
    spec = _plan(tmp_path, here)
    _finish(spec, weights="/elsewhere/w.safetensors", data_root="/elsewhere/medmnist")
    results = Path(spec.run_dir) / "results.json"
    record = json.loads(results.read_text())
    digest = hashlib.sha256(b"weights").hexdigest()
    results.write_text(json.dumps({**record, "provenance": {"backbone": {"sha256": digest}}}))
    assert is_done(_plan(tmp_path, here))
    other = tmp_path / "data2"
    other.mkdir()
    assert not is_done(_plan(tmp_path, {**here, "data_root": str(other)}))
    weights.write_bytes(b"other weights")
    assert not is_done(_plan(tmp_path, here))


def test_dry_run_names_missing_data_and_weights_before_anything_runs(tmp_path, capsys):
    """A plan whose data folder lacks a file (download off) or whose weights file is gone fails
    on --dry-run, and a real start refuses before the first run."""
    from mosaic_kit.cli import main
    from mosaic_kit.experiments.suite import run_suite

    (tmp_path / "data").mkdir()
    plan = {
        "name": "p",
        "preset": "cpu-tiny",
        "methods": ["mos"],
        "datasets": ["breastmnist"],
        "seeds": [1],
        "out": str(tmp_path / "runs"),
        "overrides": {
            "data_root": str(tmp_path / "data"),
            "download": False,
            "weights": str(tmp_path / "gone.safetensors"),
        },
    }
    (tmp_path / "p.yaml").write_text(json.dumps(plan))
    assert main(["suite", "--plan", str(tmp_path / "p.yaml"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert (
        "breastmnist.npz is missing and download is off" in err
        and "gone.safetensors does not exist" in err
    )
    with pytest.raises(FileNotFoundError, match="nothing was run"):
        run_suite(load_plan(tmp_path / "p.yaml", root=tmp_path), progress=False)
    assert not (tmp_path / "runs").exists()


def test_a_folder_given_as_the_plan_is_named_as_a_folder(tmp_path):
    from mosaic_kit.experiments.plan import load_plan

    (tmp_path / "mine.yaml").write_text("name: x\n")
    with pytest.raises(
        FileNotFoundError, match=r"is a folder; --plan takes one plan's YAML file, e\.g\."
    ):
        load_plan(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_plan(tmp_path / "missing.yaml")


@pytest.mark.parametrize("where", ["", "breastmnist/"])
def test_an_interrupted_run_is_resumed_also_when_its_checkpoints_are_per_dataset(
    tmp_path, monkeypatch, where
):
    # an independent run keeps its checkpoints in one folder per dataset: restarting it without
    # resume=True would meet its own unfinished part and stop ("already holds a run")
    import papermill

    from mosaic_kit.experiments import suite

    spec = _plan(tmp_path, {"independent": True} if where else {})
    state = Path(spec.run_dir) / where / "last_state.pt"
    state.parent.mkdir(parents=True)
    state.write_bytes(b"")
    seen = {}
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: seen.update(k))
    suite._execute(spec, tmp_path, "python3", {}, lambda text: None)
    assert seen["parameters"]["resume"] is True


@pytest.mark.parametrize(
    "name, text, why",
    [
        ("suite.json", "{", "JSONDecodeError"),
        ("suite.json", "[1]", "it holds a list"),
        ("results.json", '{"config": {"lr"', "JSONDecodeError"),
    ],
)
def test_a_damaged_record_of_a_finished_run_is_named_with_the_fix(tmp_path, name, text, why):
    spec = _plan(tmp_path, {"rounds": 2})
    _finish(spec)
    (Path(spec.run_dir) / name).write_text(text)
    with pytest.raises(ValueError, match=f"{name} cannot be read back") as err:
        is_done(spec)
    assert why in str(err.value) and "a plan's report keeps one" in str(err.value)


def test_a_record_of_another_shape_is_named_or_read_without_a_digest(tmp_path):
    """results.json whose config is not a mapping is named with the fix; one whose provenance has
    another shape has no weights digest to check, so a moved weights file of the same name keeps
    the run (as a record from before digests were written would)."""
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"weights")
    spec = _plan(tmp_path, {"weights": str(weights)})
    _finish(spec, weights="/elsewhere/w.safetensors")
    results = Path(spec.run_dir) / "results.json"
    record = json.loads(results.read_text())
    results.write_text(json.dumps({**record, "provenance": "copied by hand"}))
    assert is_done(spec)
    results.write_text(json.dumps({**record, "config": ["lr", 1e-3]}))
    with pytest.raises(ValueError, match="its config is a list, not a mapping") as err:
        is_done(spec)
    assert "a plan's report keeps one" in str(err.value)
