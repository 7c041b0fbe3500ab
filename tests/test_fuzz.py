"""Property-based fuzzing of the doors where users' values enter: configuration keys (as values
and as --set text), images and volumes given to predict, results files given to tables. The
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


def _clear(fn, *args, **kwargs):
    """Run ``fn``; a clear error is allowed, and must say something."""
    try:
        return fn(*args, **kwargs)
    except CLEAR as err:
        assert str(err).strip(), f"{type(err).__name__} without a message"
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


def test_the_harness_catches_a_traceback():
    """The contract check itself: an exception other than a clear error fails the property."""
    with pytest.raises(ZeroDivisionError):
        _clear(lambda: 1 / 0)
    assert math.isnan(_clear(lambda: float("nan")))
