"""The words of the paired rule: no verdict under 5 seeds, "equivalent" only within a stated
margin, the minimal detectable effect and the seeds a stated effect needs, levers judged where
they act, margins from plans and the command line."""

import math

import numpy as np
import pytest

from mosaic_kit.cli import main
from mosaic_kit.reports.compare_text import parse_margins
from mosaic_kit.stats import (
    MIN_SEEDS,
    Comparison,
    holm,
    minimal_detectable,
    paired_difference,
    seeds_needed,
)

BINARY = {"d": "binary-class"}


def _arms(shift, seeds=5, n=400, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    base = (2 * y - 1) + rng.normal(size=n)

    def one(s):
        out = {}
        for k in range(seeds):
            p = 1 / (1 + np.exp(-(base + noise * rng.normal(size=n) + s * (2 * y - 1))))
            out[k] = {"d": (y.reshape(-1, 1), np.stack([1 - p, p], 1))}
        return out

    return one(shift), one(0.0)


def test_a_verdict_needs_five_seeds():
    assert MIN_SEEDS == 5
    a, b = _arms(1.0, seeds=4)
    c = paired_difference(a, b, "auc", tasks=BINARY, n_boot=300)
    assert c.p < 0.001 and c.low > 0 and c.verdict == "n/a"  # a large effect, but 4 seeds
    assert c.verdict_text() == "n/a (4 shared seeds; a verdict needs 5)"
    a, b = _arms(1.0, seeds=5)
    assert paired_difference(a, b, "auc", tasks=BINARY, n_boot=300).verdict == "better"
    a, b = _arms(1.0, seeds=1)  # one seed: no seed level, so no interval at all
    one = paired_difference(a, b, "auc", tasks=BINARY, n_boot=100)
    assert math.isnan(one.low) and one.text().endswith(
        "no interval: a seed level needs 2 shared seeds): n/a (1 shared seed; a verdict needs 5)"
    )


def test_the_interval_is_a_t_interval_over_seeds_plus_the_sample_variance():
    a, b = _arms(0.05)
    c = paired_difference(a, b, "auc", tasks=BINARY, n_boot=500)
    d = np.array(list(c.per_seed.values()))
    assert c.v_seed == pytest.approx(d.var(ddof=1)) and c.v_sample > 0
    assert c.se == pytest.approx(math.sqrt(c.v_seed / 5 + c.v_sample))
    assert 4 <= c.df  # Welch-Satterthwaite: at least the seeds' n - 1
    from scipy import stats

    q = stats.t.ppf(0.975, c.df)
    assert (c.low, c.high) == pytest.approx((c.diff - q * c.se, c.diff + q * c.se))
    assert c.p == pytest.approx(2 * stats.t.sf(abs(c.diff) / c.se, c.df))


def test_equivalence_needs_a_margin_and_an_interval_inside_it():
    a, b = _arms(0.0, n=600, noise=0.05)
    none = paired_difference(a, b, "auc", tasks=BINARY, n_boot=400)
    assert none.verdict == "not shown either way" and "detectable: ±" in none.text()
    wide = paired_difference(a, b, "auc", tasks=BINARY, n_boot=400, margin=0.05)
    assert wide.verdict == "equivalent" and wide.text().endswith("equivalent within ±5")
    narrow = paired_difference(a, b, "auc", tasks=BINARY, n_boot=400, margin=0.0005)
    assert narrow.verdict == "not shown either way"
    # the two one-sided tests at 5% hold exactly when the 90% interval lies inside the margin
    q = __import__("scipy").stats.t.ppf(0.95, wide.df)
    assert (abs(wide.diff) + q * wide.se < 0.05) == (wide.p_equivalent < 0.05)
    with pytest.raises(ValueError, match="positive number"):
        paired_difference(a, b, "auc", tasks=BINARY, margin=-1)


def test_holm_corrects_equivalence_too():
    cs = [
        Comparison(
            "auc", ["d"], [1, 2, 3, 4, 5], 0.0, -0.01, 0.01, 0.9, margin=0.02, p_equivalent=p
        )
        for p in (0.01, 0.04)
    ]
    holm(cs)
    assert [c.p_equivalent_adjusted for c in cs] == pytest.approx([0.02, 0.04])
    assert [c.verdict for c in cs] == ["equivalent", "equivalent"]
    cs[1].p_equivalent_adjusted = 0.06
    assert cs[1].verdict == "not shown either way"


def test_seeds_needed_and_the_minimal_detectable_effect_agree():
    v_seed, v_sample = 0.02**2, 0.005**2
    n = seeds_needed(0.03, v_seed, v_sample)
    assert n is not None and n > MIN_SEEDS
    from mosaic_kit.stats.power import _dof

    def mde(k):
        return minimal_detectable(math.sqrt(v_seed / k + v_sample), _dof(v_seed, k, v_sample))

    assert mde(n) <= 0.03 < mde(n - 1)
    # below the test set's own noise: no number of seeds
    assert seeds_needed(0.01, v_seed, v_sample) is None
    assert seeds_needed(1.0, v_seed, v_sample) == MIN_SEEDS


def test_a_lever_is_judged_on_the_datasets_it_changed(tmp_path):
    """A lever that moves only one of two datasets is judged on that one; a lever that moves
    nothing is not testable."""
    from test_compare import _fake_multi, _outputs_of

    from mosaic_kit.reports.compare import lever_rows
    from mosaic_kit.reports.table import find_runs, load_records

    for seed in range(1, 6):
        strong, base = _outputs_of(0.8, seed)
        _fake_multi(tmp_path, "baseline", seed, {"breastmnist": base, "pneumoniamnist": base})
        _fake_multi(tmp_path, "one", seed, {"breastmnist": strong, "pneumoniamnist": base})
        _fake_multi(tmp_path, "none", seed, {"breastmnist": base, "pneumoniamnist": base})
    rows, _ = lever_rows(load_records(find_runs([tmp_path])), "baseline", n_boot=300)
    got = {r.label: r for r in rows}
    assert got["one"].judged_on == ["breastmnist"] and got["one"].mean["auc"].datasets == [
        "breastmnist"
    ]
    assert got["one"].verdict == "keep"
    assert got["none"].judged_on == [] and got["none"].verdict.startswith(
        "not testable by this rule"
    )
    assert all(c.p_adjusted is None for c in got["none"].mean.values())  # outside the Holm family


def test_margins_from_the_command_line_and_plans(tmp_path, capsys):
    assert parse_margins("acc=1,auc=2") == {"acc": 0.01, "auc": 0.02}
    assert parse_margins("1.5") == {"acc": 0.015, "auc": 0.015}
    for bad, msg in (
        ("f1=2", "name a metric"),
        ("auc=two", "not a number"),
        ("auc=0", "between 0 and 100"),
    ):
        with pytest.raises(ValueError, match=msg):
            parse_margins(bad)
    from test_compare import _fake_run, _outputs_of

    for seed in range(1, 6):
        a, b = _outputs_of(0.0, seed)
        _fake_run(tmp_path, "a", seed, b)
        _fake_run(tmp_path, "b", seed, _outputs_of(0.02, seed)[0])
    assert (
        main(
            [
                "compare",
                str(tmp_path / "a"),
                "--against",
                str(tmp_path / "b"),
                "--boot",
                "400",
                "--margin",
                "acc=10,auc=10",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Smallest effect of interest: ±10 ACC, ±10 AUC" in out and "equivalent within ±10" in out
    assert "Power: a true AUC difference of 10 points needs 5 seeds" in out
    with pytest.raises(SystemExit) as stop:
        main(["compare", str(tmp_path / "a"), "--against", str(tmp_path / "b"), "--boot", "1"])
    assert (
        stop.value.code == 2 and "--boot: 1 resamples: give 2 to 100000" in capsys.readouterr().err
    )

    from mosaic_kit.experiments.plan import load_plan

    plan = tmp_path / "p.yaml"
    body = "name: p\npreset: cpu-tiny\nmethods: [mos]\ndatasets: [breastmnist]\nseeds: [1]\n"
    plan.write_text(body + "smallest_effect: {acc: 1, auc: 2}\n")
    assert load_plan(plan).smallest_effect == {"acc": 1.0, "auc": 2.0}
    for bad in ("{f1: 2}", "{auc: -1}", "{auc: true}", "2"):
        plan.write_text(body + f"smallest_effect: {bad}\n")
        with pytest.raises(ValueError, match="smallest_effect"):
            load_plan(plan)


def test_compare_keeps_published_numbers_away_from_synthetic_runs(tmp_path, capsys):
    from test_compare import _fake_run, _outputs_of

    for seed in range(1, 3):
        _fake_run(tmp_path, "mine", seed, _outputs_of(0.0, seed)[0], kind="synthetic")
    assert main(["compare", str(tmp_path / "mine"), "--boot", "200"]) == 0
    out = capsys.readouterr().out
    assert (
        "Data: Published numbers on the real datasets are left out: these runs used synthetic data."
        in out
    )
    assert "ResNet-18" not in out
    # no verdict from 2 seeds
    assert "Only 2 shared seeds" in out and "majority class: +8.6 n/a" in out
