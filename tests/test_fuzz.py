"""Property-based fuzzing of the doors where users' values enter: configuration keys (as values
and as --set text), images and volumes given to predict, results files given to tables, bundle
manifests, plan files, per-sample outputs, run logs and run configurations read back. The
contract: a clear error (ValueError or FileNotFoundError, with a message) or a correct result,
never another exception. Bounded here; longer runs: ``python benchmarks/fuzz.py``."""

import dataclasses
import json
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mosaic_kit.config import Config, load_config, parse_set
from mosaic_kit.data.readers import conform
from mosaic_kit.data.registry import get_info
from mosaic_kit.evaluation.results import load_results

KEYS = [
    f.name
    for f in dataclasses.fields(Config)
    if f.name not in ("method_options", "out", "custom_datasets")
]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.lists(st.integers(-3, 300), max_size=3),
    st.sampled_from(["auto", "synthetic", "0", "-1", "1e9", "nan", "inf", "[1,2]", "breastmnist"]),
)
# examples per property: 60 in the test suite; benchmarks/fuzz.py raises it
FAST = settings(
    max_examples=int(os.environ.get("MOSAIC_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CLEAR = (ValueError, FileNotFoundError)


def _clear(fn, *args, naming: str = "", **kwargs):
    """Run ``fn``; a clear error is allowed, and must say something (``naming``: the file it must
    name)."""
    try:
        return fn(*args, **kwargs)
    except CLEAR as err:
        assert str(err).strip(), f"{type(err).__name__} without a message"
        assert naming in str(err), f"the error does not name {naming}: {err}"
        return None


@FAST
@given(key=st.sampled_from(KEYS), value=VALUES)
def test_any_configuration_value_is_a_config_or_a_clear_error(tmp_path_factory, key, value):
    out = str(tmp_path_factory.mktemp("cfg") / "run")
    cfg = _clear(load_config, overrides={key: value, "out": out})
    if cfg is not None:
        assert isinstance(cfg, Config) and cfg.seed >= 0 and cfg.img_size > 0


@FAST
@given(key=st.sampled_from(KEYS), text=st.text(max_size=16))
def test_any_set_text_is_a_config_or_a_clear_error(tmp_path_factory, key, text):
    out = str(tmp_path_factory.mktemp("cfg") / "run")
    overrides = _clear(parse_set, [f"{key}={text}"])
    if overrides is not None:
        _clear(load_config, overrides={**overrides, "out": out})


ARRAYS = st.builds(
    lambda shape, dtype, fill, seed: _array(shape, dtype, fill, seed),
    shape=st.lists(st.integers(0, 36), min_size=0, max_size=4),
    dtype=st.sampled_from(
        [np.uint8, np.int16, np.uint16, np.float32, np.float64, np.bool_, np.int64]
    ),
    fill=st.sampled_from(["random", "nan", "inf", "constant", "huge"]),
    seed=st.integers(0, 100),
)


def _array(shape, dtype, fill, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(100, 500, shape)
    if fill == "nan" and a.size:
        a.flat[0] = np.nan
    elif fill == "inf" and a.size:
        a.flat[-1] = np.inf
    elif fill == "constant":
        a = np.full(shape, 7.0)
    elif fill == "huge":
        a = a * 1e30
    if np.issubdtype(dtype, np.integer) or dtype is np.bool_:
        a = np.nan_to_num(a, nan=0, posinf=0, neginf=0)
        info = np.iinfo(dtype) if dtype is not np.bool_ else None
        a = a > 0 if info is None else np.clip(a, info.min, info.max)
    return a.astype(dtype)


WINDOWS = st.one_of(st.none(), st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True)))


@FAST
@given(
    array=ARRAYS,
    dataset=st.sampled_from(["breastmnist", "pathmnist", "adrenalmnist3d"]),
    window=WINDOWS,
)
def test_any_array_given_to_predict_is_conformed_or_refused(array, dataset, window):
    info = get_info(dataset)
    out = _clear(conform, array, info, 28, window)
    if out is not None:
        want = (28, 28, 28) if info.is_3d else ((28, 28, 3) if info.n_channels == 3 else (28, 28))
        assert out.dtype == np.uint8 and out.shape == want


JSONS = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.floats(allow_nan=False), st.integers(), st.text(max_size=5)
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(
                ["datasets", "breastmnist", "test", "val", "acc", "auc", "teacher", "config", "x"]
            ),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@FAST
@given(payload=JSONS)
def test_any_results_file_is_read_or_refused(tmp_path_factory, payload):
    run = tmp_path_factory.mktemp("run")
    (run / "results.json").write_text(json.dumps(payload))
    got = _clear(load_results, run)
    if got is not None:  # accepted: every score a table reads is a number
        for splits in got["datasets"].values():
            for scores in splits.values():
                assert all(
                    isinstance(scores[m], (int, float)) and not isinstance(scores[m], bool)
                    for m in ("acc", "auc")
                )


MANIFEST = {
    "format": "mosaic_kit.share.bundle/1",
    "checkpoint": "best",
    "backbone": {"name": "test_vit", "weights": None, "sha256": None, "pretrained": False},
    "datasets": {"breastmnist": {"task": "binary-class", "specialist": "B"}},
    "files": {"best.safetensors": "ab" * 32},
}


@FAST
@given(
    field=st.sampled_from(sorted(MANIFEST) + ["extra"]),
    value=st.one_of(VALUES, JSONS),
    drop=st.booleans(),
)
def test_any_bundle_manifest_is_read_or_refused(tmp_path_factory, field, value, drop):
    """One field of a valid bundle.json replaced by anything, or dropped."""
    from mosaic_kit.evaluation.locate import read_bundle

    folder = tmp_path_factory.mktemp("bundle")
    manifest = dict(MANIFEST)
    manifest.pop(field, None) if drop else manifest.update({field: value})
    (folder / "bundle.json").write_text(json.dumps(manifest))
    got = _clear(read_bundle, folder)
    if got is not None:  # accepted: what the loaders index is there, of the right type
        assert isinstance(got["backbone"], dict) and isinstance(got["backbone"]["name"], str)
        assert isinstance(got["files"], dict) and all(
            isinstance(v, str) for v in got["files"].values()
        )
        assert isinstance(got["datasets"], dict) and got["datasets"]


PLAN = {"name": "p", "preset": "cpu-tiny", "methods": ["mos"], "datasets": ["breastmnist"],
        "seeds": [1, 2]}  # fmt: skip


@FAST
@given(
    field=st.sampled_from(
        [
            "name",
            "preset",
            "methods",
            "datasets",
            "seeds",
            "order",
            "overrides",
            "contrasts",
            "smallest_effect",
            "out",
        ]
    ),  # fmt: skip
    value=st.one_of(VALUES, JSONS),
)
def test_any_plan_value_is_a_plan_or_a_clear_error(tmp_path_factory, field, value):
    from mosaic_kit.experiments.plan import load_plan

    folder = tmp_path_factory.mktemp("plan")
    (folder / "plan.yaml").write_text(json.dumps({**PLAN, "out": str(folder / "runs"),
                                                   field: value}))  # fmt: skip
    got = _clear(load_plan, folder / "plan.yaml", folder)
    if got is not None:  # accepted: every run has a whole-number seed and a known dataset
        runs = got.runs
        assert runs and all(type(r.seed) is int and r.seed >= 0 for r in runs)
        assert len({r.run_dir for r in runs}) == len(runs)  # no two runs share a folder
        assert all(r.parameters.get("seed") in (None, r.seed) for r in runs)


@FAST
@given(
    columns=st.integers(0, 4),
    rows=st.integers(0, 5),
    fill=st.sampled_from(["probabilities", "logits", "nan", "inf", "huge", "int"]),
    labels=st.integers(0, 6),
)
def test_any_predictions_file_is_read_or_refused(tmp_path_factory, columns, rows, fill, labels):
    from mosaic_kit.evaluation.outputs import load_outputs

    run = tmp_path_factory.mktemp("outputs")
    rng = np.random.default_rng(rows * 7 + columns)
    scores = {
        "probabilities": rng.random((rows, columns)),
        "logits": rng.normal(0, 5, (rows, columns)),
        "nan": np.full((rows, columns), np.nan),
        "inf": np.full((rows, columns), np.inf),
        "huge": np.full((rows, columns), 1e30),
        "int": rng.integers(0, 2, (rows, columns)),
    }[fill]
    y = rng.integers(0, 2, (labels, 1))
    np.savez(run / "predictions.npz", **{"best/student/breastmnist/test/scores": scores,
                                          "best/student/breastmnist/test/labels": y})  # fmt: skip
    got = _clear(load_outputs, run)
    if got is not None:  # accepted: one probability per class of the dataset for every label
        y_got, s_got = got["best"]["student"]["breastmnist"]["test"]
        assert s_got.shape == (len(y_got), 2) and np.isfinite(s_got).all()
        assert s_got.size == 0 or (s_got.min() >= -1e-6 and s_got.max() <= 1 + 1e-6)


SPEC = {"name": "ownx", "task": "binary-class", "modality": "2d", "source": "x.npz",
        "class_names": ["no", "yes"]}  # fmt: skip


@FAST
@given(
    field=st.sampled_from(
        sorted(SPEC)
        + [
            "split",
            "seed",
            "window",
            "channels",
            "specialist",
            # fmt: skip
            "description",
        ]
    ),
    value=st.one_of(VALUES, JSONS),
)
def test_any_dataset_spec_value_is_a_spec_or_a_clear_error(tmp_path_factory, field, value):
    from mosaic_kit.data.specs import read_spec

    folder = tmp_path_factory.mktemp("spec")
    np.savez(folder / "x.npz", images=np.zeros((10, 28, 28), np.uint8),
             labels=(np.arange(10) % 2)[:, None])  # fmt: skip
    (folder / "s.yaml").write_text(json.dumps({**SPEC, field: value}))
    got = _clear(read_spec, folder / "s.yaml")
    if got is not None:  # accepted: what the readers use is of the right type
        assert type(got["seed"]) is int and got["seed"] >= 0 and got["channels"] in (1, 3)
        assert all(isinstance(c, str) for c in got["class_names"]) and len(got["class_names"]) == 2
        assert len(got["split"]) == 3 and abs(sum(got["split"]) - 1) < 1e-6


LOG_ROW = {"kind": "step", "step": 3, "round": 0, "loss": 0.5}


@FAST
@given(
    rows=st.integers(0, 4),
    junk=st.one_of(st.binary(max_size=40), st.text(max_size=40).map(str.encode)),
    where=st.sampled_from(["end", "middle", "end, no newline"]),
)
def test_any_run_log_is_read_or_refused_by_line(tmp_path_factory, rows, junk, where):
    from mosaic_kit.train.log import read_log

    path = tmp_path_factory.mktemp("log") / "metrics.jsonl"
    lines = [json.dumps({**LOG_ROW, "step": i}).encode() for i in range(rows)]
    if where == "middle":
        lines.insert(len(lines) // 2, junk)
    text = b"\n".join(lines + [junk] if where != "middle" else lines)
    path.write_bytes(text + (b"" if where == "end, no newline" else b"\n"))
    got = _clear(read_log, path, naming=str(path))
    if got is not None:  # whatever is read is rows, the whole ones written before the junk kept
        assert all(isinstance(r, dict) and isinstance(r["step"], int) for r in got)
        assert [r["step"] for r in got][: rows if where != "middle" else rows // 2] == list(
            range(rows if where != "middle" else rows // 2)
        )


RUN_KEYS = ["adapter_scale", "img_size", "norm", "seed", "datasets", "lr", "rounds", "weights"]


@FAST
@given(key=st.sampled_from(RUN_KEYS), value=VALUES, drop=st.booleans())
def test_any_edit_of_a_run_configuration_is_the_recorded_one_or_refused(
    tmp_path_factory, key, value, drop
):
    import yaml

    from mosaic_kit.evaluation.config_check import free_keys, read_run_config

    run = tmp_path_factory.mktemp("run")
    cfg = load_config(overrides={"out": str(run)}).to_dict()
    (run / "results.json").write_text(json.dumps({"datasets": {}, "config": cfg}))
    edited = {k: v for k, v in cfg.items() if not (drop and k == key)}
    if not drop:
        edited[key] = value
    (run / "config.yaml").write_text(yaml.safe_dump(edited))
    got = _clear(read_run_config, run, naming=str(run / "config.yaml"))
    if got is not None:  # accepted: every key that defines the run is the recorded one
        assert all(
            json.dumps(got.get(k), default=str) == json.dumps(v, default=str)
            for k, v in cfg.items()
            if k not in free_keys()
        )


def test_the_harness_catches_a_traceback():
    """The contract check itself: an exception other than a clear error fails the property."""
    with pytest.raises(ZeroDivisionError):
        _clear(lambda: 1 / 0)
    assert math.isnan(_clear(lambda: float("nan")))
