"""Paired comparisons (mosaic_kit.stats, reports.compare, `compare`): known answers, calibration
under no effect, detection of a planted one, Holm, and the report sections built on them."""

import json

import numpy as np
import pytest

from mosaic_kit.cli import main
from mosaic_kit.evaluation.metrics import compute_metrics, resampled_metrics
from mosaic_kit.evaluation.outputs import load_outputs, write_outputs
from mosaic_kit.reports import write_report
from mosaic_kit.stats import Comparison, holm, interval_of_mean, paired_difference

BINARY = {"d": "binary-class"}


def _binary_arm(rng, y, base, shift, seeds, noise=0.3):
    """Per seed, probabilities of class 1 from a shared per-sample difficulty ``base``, seed
    noise and a planted ``shift`` of the logit towards the true class."""
    out = {}
    for s in seeds:
        logit = base + noise * rng.normal(size=len(y)) + shift * (2 * y - 1)
        p = 1 / (1 + np.exp(-logit))
        out[s] = {"d": (y.reshape(-1, 1), np.stack([1 - p, p], 1))}
    return out


def _null_and_shift(i, shift, n=300, seeds=(1, 2, 3, 4, 5)):
    rng = np.random.default_rng(i)
    y = (rng.random(n) < 0.4).astype(int)
    base = (2 * y - 1) + rng.normal(size=n)  # one test set, shared by every run
    return _binary_arm(rng, y, base, shift, seeds), _binary_arm(rng, y, base, 0.0, seeds)


@pytest.mark.parametrize(
    "task,classes",
    [
        ("binary-class", 2),
        ("multi-class", 4),
        ("ordinal-regression", 5),
        ("multi-label, binary-class", 3),
    ],
)
def test_resampled_metrics_equal_the_metrics_of_the_resampled_split(task, classes):
    rng = np.random.default_rng(0)
    n = 80
    y = (
        rng.integers(0, 2, (n, classes))
        if task.startswith("multi-label")
        else rng.integers(0, classes, (n, 1))
    )
    s = rng.random((n, classes))
    s = s if task.startswith("multi-label") else s / s.sum(1, keepdims=True)
    idx = rng.integers(0, n, (3, n))
    counts = np.stack([np.bincount(i, minlength=n) for i in idx])
    got = resampled_metrics(task, y, s, counts)
    for b in range(3):
        want = compute_metrics(task, y[idx[b]], s[idx[b]])
        assert got["acc"][b] == pytest.approx(want["acc"], abs=1e-12)
        assert got["auc"][b] == pytest.approx(want["auc"], abs=1e-12)


def test_identical_arms_differ_by_exactly_nothing():
    a, _ = _null_and_shift(0, 0.0)
    c = paired_difference(a, a, "auc", tasks=BINARY, n_boot=500)
    assert (c.diff, c.low, c.high) == (0.0, 0.0, 0.0) and c.verdict == "not testable" and c.p == 1.0
    assert c.text() == "+0.0 [+0.0, +0.0] identical outputs: not testable by this rule"


def test_no_effect_is_called_a_difference_at_most_at_the_nominal_rate():
    """60 simulated pairs with no effect on one shared test set: a correct 5% test rejects about
    3. (The calibration on the committed runs' own structure, fresh test sets and seed main
    effects, is test_calibration.py.)"""
    rejected = {
        m: sum(
            paired_difference(*_null_and_shift(i, 0.0), m, tasks=BINARY, n_boot=500, seed=i).verdict
            in ("better", "worse")
            for i in range(60)
        )
        for m in ("acc", "auc")
    }
    assert rejected["acc"] <= 5 and rejected["auc"] <= 5, rejected


def test_a_planted_shift_is_detected_and_signed():
    found = [
        paired_difference(*_null_and_shift(i, 0.25), "auc", tasks=BINARY, n_boot=500, seed=i)
        for i in range(20)
    ]
    assert sum(c.verdict == "better" for c in found) >= 19
    a, b = _null_and_shift(0, 0.25)
    assert paired_difference(b, a, "acc", tasks=BINARY, n_boot=500).verdict == "worse"
    c = found[0]
    assert c.low <= c.diff <= c.high and c.diff == pytest.approx(np.mean(list(c.per_seed.values())))


def test_pairs_need_shared_seeds_and_the_same_samples():
    a, b = _null_and_shift(0, 0.0)
    with pytest.raises(ValueError, match="share no seed"):
        paired_difference(a, {9: b[1]}, tasks=BINARY)
    other = {s: {"d": (np.roll(y, 1, 0), p)} for s, v in b.items() for y, p in [v["d"]]}
    with pytest.raises(ValueError, match="same samples"):
        paired_difference(a, other, tasks=BINARY)
    one = paired_difference({1: a[1]}, {1: b[1]}, tasks=BINARY, n_boot=200)
    assert one.verdict == "n/a"  # one seed: no verdict


def test_holm_adjusts_step_down():
    cs = [
        Comparison("auc", ["d"], [1, 2, 3, 4, 5], 0.1, 0.0, 0.2, p) for p in (0.01, 0.04, 0.03, 0.5)
    ]
    holm(cs)
    assert [c.p_adjusted for c in cs] == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert [c.verdict for c in cs] == ["better"] + ["not shown either way"] * 3


def test_interval_of_the_mean_holds_seed_and_sample_noise():
    a, _ = _null_and_shift(3, 0.0)
    iv = interval_of_mean(a, "auc", tasks=BINARY, n_boot=1000)
    per_seed = [compute_metrics("binary-class", *a[s]["d"])["auc"] for s in a]
    assert iv.mean == pytest.approx(np.mean(per_seed))
    # wider than the seed spread: sample noise too
    assert iv.low < min(per_seed) and iv.high > max(per_seed)
    assert iv.against(iv.low - 0.01) == "above" and iv.against(iv.high + 0.01) == "below"
    assert iv.against(iv.mean) == "not shown either way"


def _fake_run(root, label, seed, arm, val_arm=None, kind="same-splits", dataset="breastmnist"):
    """A finished run's records with per-sample outputs: ``arm`` holds (labels, scores) for
    binary ``dataset``."""
    d = root / label / f"seed{seed}"
    d.mkdir(parents=True)
    y, s = arm
    vy, vs = val_arm or arm
    per = {dataset: {"val": (vy, vs), "test": (y, s)}}
    write_outputs(d, {c: {"student": per, "teacher": per} for c in ("best", "last")})
    m, mv = compute_metrics("binary-class", y, s), compute_metrics("binary-class", vy, vs)
    ds = {dataset: {"val": mv, "test": m}}
    res = {"datasets": ds, "mean": {"all": m}, "mean_val": {"all": mv}}
    (d / "results.json").write_text(
        json.dumps(
            {
                **res,
                "teacher": res,
                "last": {**res, "teacher": res, "round": 5},
                "params": {"trainable": 10},
                "wall_time_s": 60.0,
                "majority": {dataset: 0.731},
                "provenance": {
                    "datasets": {dataset: kind},
                    "evaluation": "complete",
                    "checks": {dataset: "split sizes and label counts"},
                    "backbone": {
                        "backbone": "deit_tiny_patch16_224",
                        "weights": "/w/deit.int8fq.safetensors",
                        "sha256": "cd" * 32,
                        "pretrained": True,
                    },
                },
                "config": {"method": "mos", "seed": seed, "img_size": 112, "vol_size": 32},
            }
        )
    )
    (d / "suite.json").write_text(json.dumps({"label": label, "seed": seed}))
    return d


def _outputs_of(shift, seed):
    """Seed ``seed``'s outputs of the shifted and the plain arm, on one test set shared by all
    seeds."""
    a, b = _null_and_shift(100, shift, n=156)
    return a[seed]["d"], b[seed]["d"]


def test_report_judges_levers_teacher_and_references_by_paired_intervals(tmp_path):
    for seed in (1, 2, 3, 4, 5):
        strong, base = _outputs_of(0.6, seed)
        _fake_run(tmp_path, "baseline", seed, base)
        _fake_run(tmp_path, "strong", seed, strong)
        _fake_run(tmp_path, "same", seed, base)
    paths = write_report([tmp_path], tmp_path / "out", baseline="baseline")
    md = paths["md"].read_text()
    assert paths["levers_png"].stat().st_size > 10_000  # the forest plot of the levers
    levers = {
        line.split(" | ")[0][2:]: line
        for line in md.split("## Levers")[1].splitlines()
        if line.startswith("| ")
    }
    assert levers["strong"].endswith("| 5 | keep |") and "Holm" in levers["strong"]
    assert levers["same"].endswith(
        "| 5 | not testable by this rule (identical validation outputs) |"
    )
    assert "+0.0 [+0.0, +0.0] identical outputs" in levers["same"]
    assert "last round of the fixed schedule" in md
    refs = md.split("## Intervals and the published references")[1].split("##")[0]
    assert "ResNet-18 (28 px)" in refs and "ResNet-18 (224 px)" in refs and "2D at 112 px" in refs
    assert "ResNet-18+ACS" not in refs  # a 3D reference only where a 3D dataset is
    # MedMNIST+'s best 28-px AUC: on the dataset's AUC row only (no ACC, no group mean)
    assert "− MedMNIST+ best (28 px) |" in refs and "Doerrich et al., 2024" in refs
    acc, auc = (
        [c.strip() for c in line.split("|")[1:-1]]
        for line in refs.splitlines()
        for metric in ("AUC", "ACC")
        if line.startswith(f"| strong | breastmnist | {metric} ")
    )
    assert auc[7].startswith(f"{float(auc[3].split()[0]) - 89.1:+.1f}:") and acc[7] == "–"
    assert (
        "teacher − student" in md and "| student | 5 |" in md.split("## Student or EMA teacher")[1]
    )
    assert (
        "deit.int8fq.safetensors (sha256 cdcdcdcdcdcd)" in md
        and "split sizes and label counts" in md
    )
    csv = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert csv[0].endswith("ci_low,ci_high,input,data,weights,weights_sha256")
    row = next(r.split(",") for r in csv if r.startswith("strong,breastmnist,auc"))
    assert float(row[7]) < float(row[3]) < float(row[8]) and row[9:12] == [
        "112 px",
        "same-splits",
        "deit.int8fq.safetensors",
    ]


def test_a_volume_report_reads_the_kit_against_resnet18_3d_and_resnet18_acs(tmp_path):
    for seed in (1, 2, 3):
        _fake_run(
            tmp_path,
            "baseline",
            seed,
            _outputs_of(0.6, seed)[0],
            kind="official",
            dataset="adrenalmnist3d",
        )
    md = write_report([tmp_path], tmp_path / "out", baseline="baseline")["md"].read_text()
    refs = md.split("## Intervals and the published references")[1].split("##")[0]
    row = next(
        line for line in refs.splitlines() if line.startswith("| baseline | adrenalmnist3d | AUC")
    )
    cells = [c.strip() for c in row.split("|")[1:-1]]
    mean = float(cells[3].split()[0])
    assert "− ResNet-18+ACS (28^3) |" in refs and "ACS convolutions" in refs
    assert "MedMNIST+" not in refs  # a 2D benchmark: no column for a volume-only report
    assert cells[4].startswith(f"{mean - 82.7:+.1f}:") and cells[7].startswith(
        f"{mean - 83.9:+.1f}:"
    )


def test_runs_without_outputs_get_no_verdict(tmp_path):
    d = _fake_run(tmp_path, "baseline", 1, _outputs_of(0.0, 1)[0])
    _fake_run(tmp_path, "lever", 1, _outputs_of(0.0, 1)[0])
    (d / "predictions.npz").unlink()
    md = write_report([tmp_path], tmp_path / "out", baseline="baseline")["md"].read_text()
    assert "no per-sample outputs" in md and "keep" not in md and "not shown either way" not in md


def test_compare_command(tmp_path, capsys):
    for seed in (1, 2, 3, 4, 5):
        strong, base = _outputs_of(0.6, seed)
        _fake_run(tmp_path, "a", seed, strong)
        _fake_run(tmp_path, "b", seed, base)
    assert (
        main(["compare", str(tmp_path / "a"), "--against", str(tmp_path / "b"), "--boot", "500"])
        == 0
    )
    out = capsys.readouterr().out
    assert "seeds [1, 2, 3, 4, 5]" in out and "AUC +" in out and ": better" in out
    assert f"A: {tmp_path / 'a'} (5 runs)" in out and f"B: {tmp_path / 'b'} (5 runs)" in out
    assert (
        main(
            [
                "compare",
                str(tmp_path / "a"),
                "--boot",
                "500",
                "--split",
                "val",
                "--checkpoint",
                "last",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "ResNet-18 (28 px)" in out and "ResNet-18 (224 px)" in out and "majority class" in out
    assert main(["compare", str(tmp_path / "a"), "--against", str(tmp_path / "nothing")]) == 2
    # both folders given as A (--against forgotten): named, not paired as one configuration's seeds
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--boot", "500"]) == 2
    err = capsys.readouterr().err
    assert "A holds runs of 2 configurations (a, b)" in err and "--against" in err


def test_outputs_round_trip_and_name_what_is_missing(tmp_path):
    y, s = np.array([[0], [1], [1]]), np.array([[0.7, 0.3], [0.2, 0.8], [0.4, 0.6]])
    write_outputs(tmp_path, {"best": {"student": {"breastmnist": {"test": (y, s)}}}})
    got = load_outputs(tmp_path)["best"]["student"]["breastmnist"]["test"]
    assert np.array_equal(got[0], y) and np.allclose(got[1], s) and got[1].dtype == np.float32
    with pytest.raises(FileNotFoundError, match="no per-sample outputs"):
        load_outputs(tmp_path / "elsewhere")


def test_scaling_trend_is_a_paired_verdict(tmp_path):
    from mosaic_kit.reports import aggregate, find_runs, load_records
    from mosaic_kit.reports.scaling import scaling_points, trend

    for seed in (1, 2, 3, 4, 5):
        strong, base = _outputs_of(0.6, seed)
        for label, arm, size in (
            ("vpt-1", base, 10),
            ("vpt-10", base, 100),
            ("vpt-50", strong, 1000),
        ):
            d = _fake_run(tmp_path, label, seed, arm)
            res = json.loads((d / "results.json").read_text())
            res["params"]["trainable"], res["config"]["method"] = size, "vpt"
            (d / "results.json").write_text(json.dumps(res))
    records = load_records(find_runs([tmp_path]))
    points = sorted(scaling_points(aggregate(records), records), key=lambda p: p.params)
    assert trend(points, "auc", records).endswith("Holm: rises")
    assert trend(points[:2], "auc", records).startswith("+0.0 [+0.0, +0.0]")


def _fake_multi(root, label, seed, per_dataset):
    """A finished run on several binary datasets: ``per_dataset`` maps a name to its (labels,
    scores)."""
    d = root / label / f"seed{seed}"
    d.mkdir(parents=True)
    per = {n: {"val": a, "test": a} for n, a in per_dataset.items()}
    write_outputs(d, {c: {"student": per, "teacher": per} for c in ("best", "last")})
    ds = {
        n: {s: compute_metrics("binary-class", *a) for s in ("val", "test")}
        for n, a in per_dataset.items()
    }
    (d / "results.json").write_text(
        json.dumps(
            {
                "datasets": ds,
                "mean": {},
                "mean_val": {},
                "params": {"trainable": 2_000_000 if label == "b" else 10},
                "wall_time_s": 120.0,
                "routing": {"breastmnist": "B", "pneumoniamnist": "B", "nodulemnist3d": "C"},
                "config": {"method": "mos", "seed": seed, "img_size": 64},
            }
        )
    )
    (d / "suite.json").write_text(json.dumps({"label": label, "seed": seed}))
    return d


def test_contrasts_are_paired_per_dataset_specialist_and_mean(tmp_path):
    """A planted shift on the two datasets of specialist B shows there, in the mean and in no
    other row; an arm against its copy differs by exactly nothing."""
    for seed in (1, 2, 3, 4, 5):
        strong, base = _outputs_of(0.8, seed)
        _fake_multi(
            tmp_path,
            "a",
            seed,
            {"breastmnist": strong, "pneumoniamnist": strong, "nodulemnist3d": base},
        )
        _fake_multi(
            tmp_path,
            "b",
            seed,
            {"breastmnist": base, "pneumoniamnist": base, "nodulemnist3d": base},
        )
        c = _fake_multi(
            tmp_path,
            "c",
            seed,
            {"breastmnist": base, "pneumoniamnist": base, "nodulemnist3d": base},
        )
        # another method records its own path names
        res = json.loads((c / "results.json").read_text())
        (c / "results.json").write_text(
            json.dumps({**res, "routing": dict.fromkeys(res["routing"], "backbone")})
        )
    paths = write_report(
        [tmp_path],
        tmp_path / "out",
        contrasts=[
            {"a": "a", "b": "b", "question": "Does a beat b?"},
            {"a": "c", "b": "b", "question": ""},
        ],
    )
    md = paths["md"].read_text().split("## Contrasts, on test")[1]
    assert paths["contrasts_png"].stat().st_size > 10_000
    first, second = md.split("### ")[1:3]
    assert (
        first.startswith("`a` − `b`: Does a beat b?")
        and "`b` 2.00 M trainable, 2.0 min a run" in first
    )
    rows = {line.split(" | ")[0][2:]: line for line in first.splitlines() if line.startswith("| ")}
    assert set(rows) == {
        "row",
        "Breast",
        "Pneumonia",
        "Nodule3D",
        "specialist B (Breast + Pneumonia)",
        "mean",
    }
    assert rows["specialist B (Breast + Pneumonia)"].count(": better") == 2
    assert rows["mean"].count("Holm: better") == 2 and rows["Breast"].count("Holm: better") == 2
    assert rows["Nodule3D"].count("+0.0 [+0.0, +0.0] identical outputs: not testable") == 2
    # the 4 rows x 2 metrics that can differ
    assert "Holm over the 8 comparisons of this contrast" in first
    assert second.count("+0.0 [+0.0, +0.0]") == 2 * 5 and "better" not in second  # c is a copy of b


def test_table_names_each_folder_of_runs_with_its_label(tmp_path, capsys):
    from mosaic_kit.cli import main

    for seed in (1, 2, 3, 4, 5):
        strong, base = _outputs_of(0.6, seed)
        _fake_run(tmp_path / "mine", "mos", seed, strong)
        _fake_run(tmp_path / "theirs", "mos", seed, base)
    out = tmp_path / "table"
    assert (
        main(
            [
                "table",
                str(tmp_path / "mine"),
                str(tmp_path / "theirs"),
                "--out",
                str(out),
                "--label",
                "mosaic",
                "--label",
                "baseline",
            ]
        )
        == 0
    )
    md = (out / "results.md").read_text()
    levers = [
        line for line in md.split("## Levers")[1].splitlines() if line.startswith("| mosaic |")
    ]
    # named, and judged against the one named baseline
    assert len(levers) == 1 and levers[0].endswith("| 5 | keep |")
    assert (
        main(
            [
                "table",
                str(tmp_path / "mine"),
                str(tmp_path / "theirs"),
                "--out",
                str(out),
                "--label",
                "mosaic",
            ]
        )
        == 2
    )
    assert "1 label(s) for 2 run folder(s)" in capsys.readouterr().err


def test_the_contrast_figure_shades_the_stated_margin(tmp_path, monkeypatch):
    """Where a plan states a smallest effect of interest, each panel shades ± that margin (in
    points), so an interval inside it reads as equivalent; without one, nothing is shaded."""
    import matplotlib.axes

    from mosaic_kit.reports.contrasts import ContrastRow, plot_contrasts
    from mosaic_kit.stats.verdicts import Comparison

    spans = []
    real = matplotlib.axes.Axes.axvspan
    monkeypatch.setattr(
        matplotlib.axes.Axes,
        "axvspan",
        lambda self, lo, hi, **kw: spans.append((lo, hi)) or real(self, lo, hi, **kw),
    )

    def row(margins):
        found = {
            ("mean", m): Comparison(m, ["breastmnist"], [1, 2], 0.01, -0.01, 0.03, 0.5, margin=g)
            for m, g in margins.items()
        }
        return ContrastRow("a", "b", "", [("mean", ["breastmnist"])], found)

    plot_contrasts([row({"acc": 0.02, "auc": 0.03})], tmp_path / "c.png")
    assert spans == [(-2.0, 2.0), (-3.0, 3.0)] and (tmp_path / "c.png").stat().st_size > 5_000
    spans.clear()
    plot_contrasts([row({"acc": None, "auc": None})], tmp_path / "d.png")
    assert spans == []
