"""The results table: per-dataset mean ± sample std over seeds, group means per run, references,
formats."""

import json
from statistics import stdev

import pytest

from mosaic_kit.reports import (
    aggregate,
    find_runs,
    load_records,
    reference_acs,
    reference_medmnist_plus,
    reference_paper_means,
    reference_resnet18,
    to_csv,
    to_latex,
    to_markdown,
    write_report,
)


def _run(
    root,
    label,
    seed,
    scores,
    data_root="/data/medmnist",
    trainable=1000,
    kind="same-splits",
    pretrained=True,
    method="mos",
    **config,
):
    d = root / label / f"seed{seed}"
    d.mkdir(parents=True)
    ds = {
        n: {"val": {"acc": a, "auc": u}, "test": {"acc": a, "auc": u}}
        for n, (a, u) in scores.items()
    }
    prov = {
        "datasets": {n: kind for n in scores},
        "evaluation": "complete",
        "backbone": {
            "backbone": "deit_tiny_patch16_224",
            "weights": "w.safetensors" if pretrained else None,
            "sha256": "ab" * 32 if pretrained else None,
            "pretrained": pretrained,
        },
    }
    val = {
        "all": {
            m: sum(v[i] for v in scores.values()) / len(scores)
            for i, m in enumerate(("acc", "auc"))
        }
    }
    (d / "results.json").write_text(
        json.dumps(
            {
                "datasets": ds,
                "mean_val": val,
                "teacher": {"datasets": ds, "mean_val": {"all": {"acc": 0.5, "auc": 0.5}}},
                "params": {"trainable": trainable},
                "wall_time_s": 60.0,
                "provenance": prov,
                "config": {"method": method, "seed": seed, "data_root": data_root, **config},
            }
        )
    )
    (d / "suite.json").write_text(json.dumps({"label": label, "seed": seed}))
    return d


def test_aggregate_means_and_sample_std(tmp_path):
    _run(tmp_path, "mos", 1, {"breastmnist": (0.8, 0.9), "adrenalmnist3d": (0.6, 0.7)})
    _run(tmp_path, "mos", 2, {"breastmnist": (0.9, 0.95), "adrenalmnist3d": (0.7, 0.8)})
    _run(
        tmp_path, "lora", 1, {"breastmnist": (0.5, 0.6), "adrenalmnist3d": (0.4, 0.5)}, trainable=10
    )
    assert len(find_runs([tmp_path])) == 3
    runs = find_runs([tmp_path / "mos", tmp_path / "lora"])  # given order = column order
    table = aggregate(load_records(runs))
    assert table.labels == ["mos", "lora"] and table.datasets == ["breastmnist", "adrenalmnist3d"]
    assert table.cells[("mos", "breastmnist")]["acc"] == [0.8, 0.9]
    # per-run mean over datasets first
    assert table.means[("mos", "all")]["acc"] == pytest.approx([0.7, 0.8])
    md = to_markdown(table)
    row = next(line for line in md.splitlines() if line.startswith("| breastmnist |"))
    # 28, 224 px
    assert (
        f"85.0 ± {100 * stdev([0.8, 0.9]):.1f} n=2" in row
        and "| 86.3 | 90.1 | 83.3 | 89.1 |" in row
    )
    assert (
        "| mean all (2 datasets) | 75.0 ± 7.1 n=2 |" in md
        and "| trainable parameters | 1,000 |" in md
    )
    assert "reported mean 2D" not in md
    assert "mos,breastmnist,acc,0.850000" in to_csv(table)
    tex = to_latex(table, "cap")
    assert r"\begin{tabular}" in tex and r"$\pm$" in tex and r"\caption{cap}" in tex


def test_synthetic_runs_get_no_published_columns(tmp_path):
    _run(tmp_path, "mos", 1, {"breastmnist": (0.8, 0.9)}, data_root="synthetic", kind="synthetic")
    paths = write_report([tmp_path], tmp_path / "out", title="t")
    md = paths["md"].read_text()
    assert (
        "ResNet-18 (28 px)" not in md
        and "left out: these runs used synthetic data" in md
        and "MOSAIC paper" not in md
    )
    assert "- `../mos/seed1`" in md  # run links relative to the report
    assert all(paths[k].stat().st_size > 0 for k in ("csv", "tex", "acc_png", "auc_png"))


def test_references_are_the_published_numbers():
    ref = reference_resnet18()
    assert len(ref) == 18
    assert ref["breastmnist"] == {"acc": 0.863, "auc": 0.901}
    assert ref["pneumoniamnist"] == {"acc": 0.854, "auc": 0.944}
    assert ref["adrenalmnist3d"] == {"acc": 0.721, "auc": 0.827}  # ResNet-18+3D
    assert (
        reference_acs()["adrenalmnist3d"] == {"acc": 0.754, "auc": 0.839}
        and len(reference_acs()) == 6
    )
    assert reference_paper_means()["all"] == {"acc": 0.8416, "auc": 0.8963}
    assert reference_medmnist_plus() == {
        "pneumoniamnist": {"auc": 0.970},
        "breastmnist": {"auc": 0.891},
        "retinamnist": {"auc": 0.754},
    }


def test_missing_runs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a run directory"):
        find_runs([tmp_path / "nope"])
    with pytest.raises(ValueError, match="No runs to aggregate"):
        aggregate([])


@pytest.mark.parametrize(
    "kind, pretrained, reason",
    [
        ("custom", True, "custom data"),
        ("same-splits", False, "a random (not pretrained) backbone"),
        ("official", True, None),
    ],
)
def test_references_need_real_files_and_pretrained_weights(tmp_path, kind, pretrained, reason):
    _run(tmp_path, "mos", 1, {"breastmnist": (0.8, 0.9)}, kind=kind, pretrained=pretrained)
    md = write_report([tmp_path], tmp_path / "out", title="t")["md"].read_text()
    assert ("ResNet-18 (28 px) ACC" in md) == (reason is None)
    if reason:
        assert f"left out: these runs used {reason}" in md


def test_a_synthetic_suite_in_a_folder_is_detected_by_content(tmp_path):
    """``synth --out DIR`` writes official names; a run on DIR is still synthetic, and says so
    everywhere."""
    from conftest import tiny_cfg

    from mosaic_kit.data import write_suite
    from mosaic_kit.train import train

    root = write_suite(tmp_path / "looks-official", ["breastmnist", "adrenalmnist3d"])
    run = train(
        tiny_cfg(
            tmp_path,
            data_root=str(root),
            datasets=["breastmnist", "adrenalmnist3d"],
            rounds=1,
            steps_per_dataset=2,
            eval_max_samples=16,
        ),
        progress=False,
    )
    res = json.loads((run / "results.json").read_text())
    assert res["provenance"]["datasets"] == {
        "breastmnist": "synthetic",
        "adrenalmnist3d": "synthetic",
    }
    assert res["provenance"]["backbone"] == {
        "backbone": "test_vit",
        "weights": None,
        "sha256": None,
        "pretrained": False,
    }
    assert res["provenance"]["evaluation"] == "truncated: at most 16 samples per split"
    assert (
        "Data: synthetic (breastmnist, adrenalmnist3d). Backbone: test_vit, random init"
        in (run / "results.md").read_text()
    )
    md = write_report([run], tmp_path / "out")["md"].read_text()
    assert (
        "ResNet-18 (28 px)" not in md and "synthetic data, a random (not pretrained) backbone" in md
    )


def test_unrelated_runs_are_not_averaged(tmp_path):
    a = _run(tmp_path, "mos", 1, {"breastmnist": (0.8, 0.9)})
    b = _run(tmp_path / "other", "mos", 2, {"breastmnist": (0.6, 0.7)})
    for d, rounds in (
        (a, 3),
        (b, 8),
    ):  # same label, another schedule: not seeds of one configuration
        res = json.loads((d / "results.json").read_text())
        res["config"]["rounds"] = rounds
        (d / "results.json").write_text(json.dumps(res))
    table = aggregate(load_records([a, b]))
    assert table.labels == ["mos [rounds=3]", "mos [rounds=8]"] and table.runs == {
        "mos [rounds=3]": 1,
        "mos [rounds=8]": 1,
    }
    c = _run(tmp_path / "third", "mos", 3, {"breastmnist": (0.7, 0.8)})
    res = json.loads((c / "results.json").read_text())
    # another path only: a seed of the first
    res["config"].update(rounds=3, data_root="/elsewhere/medmnist")
    (c / "results.json").write_text(json.dumps(res))
    assert aggregate(load_records([a, c])).runs == {"mos": 2}


def test_undefined_and_truncated_cells_are_marked(tmp_path):
    d = _run(tmp_path, "mos", 1, {"breastmnist": (0.8, float("nan")), "pneumoniamnist": (0.7, 0.9)})
    res = json.loads((d / "results.json").read_text())
    res["provenance"]["evaluation"] = "truncated: at most 16 samples per split"
    res["majority"] = {"breastmnist": 0.731, "pneumoniamnist": 0.625}
    res["datasets"]["pneumoniamnist"]["test"]["ci95"] = {"acc": [0.6, 0.8], "auc": [0.85, 0.95]}
    (d / "results.json").write_text(json.dumps(res))
    md = write_report([d], tmp_path / "out")["md"].read_text()
    row = lambda name: next(x for x in md.splitlines() if x.startswith(f"| {name}"))  # noqa: E731
    # majority-class column
    assert "| undefined |" in row("breastmnist") and "| 73.1 |" in row("breastmnist")
    # a run's own interval over test samples is not an interval of the mean over seeds: cells show
    # none without per-sample outputs
    assert "| 70.0* n=1 | 90.0* n=1 |" in row("pneumoniamnist")
    # the AUC mean covers the one dataset where it is defined
    assert "90.0†* n=1" in row("mean all")
    assert "a mean marked † covers only" in md and "*: evaluated on at most" in md


def test_grid_selection_reads_validation_only(tmp_path):
    """The report picks each method's grid point on validation; raising the losers' test numbers
    changes nothing."""

    def run(lr, seed, val, test):
        d = _run(tmp_path / f"lr{lr}", "mos", seed, {"breastmnist": (test, test)})
        res = json.loads((d / "results.json").read_text())
        res["mean_val"] = {"all": {"acc": val, "auc": val}}
        res["config"]["lr"] = lr
        (d / "results.json").write_text(json.dumps(res))
        (d / "suite.json").write_text(
            json.dumps({"label": "mos", "seed": seed, "grid": {"lr": lr}})
        )
        return d

    dirs = [
        run(1e-3, 1, 0.80, 0.70),
        run(1e-3, 2, 0.82, 0.72),
        run(3e-4, 1, 0.75, 0.60),
        run(3e-4, 2, 0.77, 0.62),
    ]
    md = write_report(dirs, tmp_path / "out")["md"].read_text()
    assert "mos (lr=0.001) ACC" in md and "lr=0.0003) ACC" not in md
    assert (
        "| mos | lr=0.001 | 81.0 | 2 | selected |" in md
        and "| mos | lr=0.0003 | 76.0 | 2 | not selected |" in md
    )
    assert "71.0 ± 1.4 n=2" in md and "61.0" not in md  # only the selected point's test numbers
    for d in dirs[2:]:  # the losers' test numbers become the best: the choice must not move
        res = json.loads((d / "results.json").read_text())
        res["datasets"]["breastmnist"]["test"] = {"acc": 0.99, "auc": 0.99}
        (d / "results.json").write_text(json.dumps(res))
    again = write_report(dirs, tmp_path / "out2")["md"].read_text()
    assert (
        "| mos | lr=0.001 | 81.0 | 2 | selected |" in again
        and "71.0 ± 1.4 n=2" in again
        and "99.0" not in again
    )


def test_plan_grid_expands_into_runs(tmp_path):
    import yaml

    from mosaic_kit.experiments.suite import load_plan

    plan = tmp_path / "p.yaml"
    plan.write_text(
        yaml.safe_dump(
            {
                "name": "g",
                "preset": "cpu-tiny",
                "methods": ["mos", "lora"],
                "grid": {"lr": [1e-3, 3e-4]},
                "datasets": ["breastmnist"],
                "seeds": [1, 2],
            }
        )
    )
    p = load_plan(plan, root=tmp_path)
    assert len(p.runs) == 2 * 2 * 1 * 2
    first = p.runs[0]
    assert (
        first.grid == {"lr": 1e-3}
        and "lr=0.001" in first.run_dir
        and first.parameters["overrides"]["lr"] == 1e-3
    )
    assert first.fingerprint()["grid"] == {"lr": 1e-3}
    plan.write_text(
        yaml.safe_dump(
            {
                "name": "g",
                "methods": ["mos"],
                "grid": {"lr": []},
                "datasets": ["breastmnist"],
                "seeds": [1],
            }
        )
    )
    with pytest.raises(ValueError, match="'grid' maps keys to non-empty lists"):
        load_plan(plan, root=tmp_path)
    assert p.baseline == "baseline"  # the default label of the report's lever table
    spec = {
        "name": "g",
        "preset": "cpu-tiny",
        "methods": ["mos", "lora"],
        "datasets": ["breastmnist"],
        "seeds": [1],
    }
    plan.write_text(yaml.safe_dump({**spec, "baseline": "lora"}))
    assert load_plan(plan, root=tmp_path).baseline == "lora"
    plan.write_text(yaml.safe_dump({**spec, "baseline": "8x80"}))
    with pytest.raises(
        ValueError, match=r"baseline '8x80' is not one of its labels \['mos', 'lora'\]"
    ):
        load_plan(plan, root=tmp_path)


def test_accuracy_against_trainable_parameters(tmp_path):
    from mosaic_kit.reports.scaling import scaling_points, trend

    sizes = {
        "vpt-p1": 100,
        "vpt-p10": 1000,
        "vpt-p50": 10000,
        "lora-r1": 200,
        "lora-r32": 6000,
        "linear": 50,
    }
    acc = {
        "vpt-p1": (0.60, 0.62),
        "vpt-p10": (0.70, 0.72),
        "vpt-p50": (0.80, 0.82),  # rises: +20 vs std 1.4
        "lora-r1": (0.75, 0.85),
        "lora-r32": (0.78, 0.80),  # -1.0 within std 7.1
        "linear": (0.5, 0.5),
    }
    for label, (a1, a2) in acc.items():
        for seed, a in ((1, a1), (2, a2)):
            _run(
                tmp_path,
                label,
                seed,
                {"breastmnist": (a, a), "pneumoniamnist": (a, a)},
                trainable=sizes[label],
                method=label.split("-")[0],
            )
    records = load_records(find_runs([tmp_path]))
    points = {p.label: p for p in scaling_points(aggregate(records), records)}
    assert points["vpt-p10"].family == "VPT" and points["lora-r32"].family == "LoRA"
    assert points["vpt-p50"].params == 10000 and points["vpt-p50"].mean("acc") == pytest.approx(
        0.81
    )
    vpt = sorted((p for p in points.values() if p.family == "VPT"), key=lambda p: p.params)
    # a mean against a std decides nothing
    assert trend(vpt, "acc") == "+20.0 (no per-sample outputs: no verdict)"
    lora = sorted((p for p in points.values() if p.family == "LoRA"), key=lambda p: p.params)
    assert trend(lora, "acc") == "-1.0 (no per-sample outputs: no verdict)"
    paths = write_report([tmp_path], tmp_path / "report", title="sweep")
    md = paths["md"].read_text()
    assert "## Accuracy against trainable parameters" in md
    assert (
        "| VPT | 100 → 10,000 | +20.0 (no per-sample outputs: no verdict) |" in md
        and "| linear probe | linear | 50 |" in md
    )
    assert paths["scaling_png"].stat().st_size > 10_000
    assert "| vpt-p50 | 81.0 ± 1.4 | 81.0 ± 1.4 | 50.0 ± 0.0 | 50.0 ± 0.0 | 2 |" in md  # val
    # accuracy against wall time, one point per label
    assert paths["wall_time_png"].stat().st_size > 10_000
    assert paths["auc_wall_time_png"].stat().st_size > 10_000  # per dataset, ResNet-18 as a line
    alone = write_report([tmp_path / "vpt-p1", tmp_path / "lora-r1"], tmp_path / "no-sweep")
    assert (
        "scaling_png" not in alone and "against trainable parameters" not in alone["md"].read_text()
    )


def test_a_key_newer_than_a_run_counts_at_its_default(tmp_path):
    _run(tmp_path, "mos", 1, {"breastmnist": (0.8, 0.9)})  # written before class_balance existed
    _run(tmp_path, "mos", 2, {"breastmnist": (0.9, 0.9)}, class_balance="none")
    assert aggregate(load_records(find_runs([tmp_path]))).runs == {"mos": 2}
    _run(tmp_path, "mos", 3, {"breastmnist": (0.9, 0.9)}, class_balance="loss")
    assert aggregate(load_records(find_runs([tmp_path]))).runs == {
        "mos [class_balance=none]": 2,
        "mos [class_balance=loss]": 1,
    }


def test_validation_scores_are_the_last_rounds_where_recorded(tmp_path):
    """The best round's validation score is a maximum over rounds; choices read the last round's."""
    from mosaic_kit.reports.selection import validation_md

    for seed in (1, 2):
        d = _run(tmp_path, "mos", seed, {"breastmnist": (0.9, 0.9)})
        res = json.loads((d / "results.json").read_text())
        res["last"] = {
            "mean_val": {"all": {"acc": 0.8, "auc": 0.7}},
            "teacher": {"mean_val": {"all": {"acc": 0.6, "auc": 0.5}}},
        }
        (d / "results.json").write_text(json.dumps(res))
    md = validation_md(load_records(find_runs([tmp_path])))
    assert (
        "| mos | 80.0 ± 0.0 | 70.0 ± 0.0 | 60.0 ± 0.0 | 50.0 ± 0.0 | 2 |" in md
        and "last round" in md
    )
    _run(tmp_path, "old", 1, {"breastmnist": (0.9, 0.9)})
    assert "a maximum over rounds, so optimistic" in validation_md(
        load_records(find_runs([tmp_path]))
    )


def test_a_curve_needs_three_sizes_of_one_family():
    from mosaic_kit.reports.scaling import ScalingPoint, is_sweep

    def point(label, params, family="MOSAIC"):
        return ScalingPoint(family, label, params, {"acc": [0.8], "auc": [0.9]}, [60.0])

    lever = [
        point("baseline", 1_447_302),
        point("vol-28-p4", 1_414_854),
        point("lora", 200_000, "LoRA"),
    ]
    assert not is_sweep(lever)  # an ablation lever that changes the count in passing
    assert is_sweep(lever + [point("x2", 2_777_862)])


@pytest.mark.parametrize("n_datasets, n_labels", [(1, 9), (18, 2)])
def test_score_figures_keep_title_and_legend_inside_at_any_dataset_count(
    tmp_path, monkeypatch, n_datasets, n_labels
):
    import matplotlib.pyplot as plt

    from mosaic_kit.data.registry import ALL_DATASETS
    from mosaic_kit.reports.score_figure import plot_scores
    from mosaic_kit.reports.table import ResultTable

    names = list(ALL_DATASETS)[:n_datasets]
    labels = [f"lever-{i} [tokenizer_3d_init=acs, rot90_3d=True]" for i in range(n_labels)]
    table = ResultTable(
        labels,
        names,
        {(lab, n): {"acc": [0.5 + 0.02 * i, 0.6]} for i, lab in enumerate(labels) for n in names},
        {},
        runs={lab: 2 for lab in labels},
    )
    kept = []
    monkeypatch.setattr(plt, "close", kept.append)
    plot_scores(
        table,
        tmp_path / "acc.png",
        "acc",
        inputs="2D at 112 px, 3D at 32^3 (28-px files upsampled)",
    )
    fig = kept[0]
    fig.canvas.draw()
    box = fig.bbox
    ax = fig.axes[0]
    for artist in (ax.title, ax.get_legend()):
        ext = artist.get_window_extent()
        assert ext.x0 >= box.x0 - 1 and ext.x1 <= box.x1 + 1 and ext.y1 <= box.y1 + 1, artist
    legend, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.x0 >= axes.x1  # beside the points, never over them


def test_the_report_says_how_each_wall_time_was_measured(tmp_path):
    _run(tmp_path, "mos", 1, {"breastmnist": (0.8, 0.9)}, device="cpu", threads=1)
    _run(tmp_path, "mos", 2, {"breastmnist": (0.8, 0.9)}, device="cpu", threads=1)
    _run(tmp_path, "lora", 1, {"breastmnist": (0.7, 0.8)}, device="cpu", threads=0)
    _run(tmp_path, "vpt", 1, {"breastmnist": (0.7, 0.8)}, device="cuda:0")
    _run(tmp_path, "old", 1, {"breastmnist": (0.7, 0.8)})  # a run that recorded neither
    md = write_report([tmp_path / n for n in ("mos", "lora", "vpt", "old")], tmp_path / "out")[
        "md"
    ].read_text()
    assert (
        "mos: Wall time measured on the CPU, 1 torch thread per run. lora: Wall time measured on "
        "the CPU, all cores per run. vpt: Wall time measured on cuda:0. old: Wall time: how it was "
        "measured is not recorded."
    ) in md
    one = write_report([tmp_path / "mos"], tmp_path / "one")["md"].read_text()
    assert "\nWall time measured on the CPU, 1 torch thread per run.\n" in one  # one way: no labels
