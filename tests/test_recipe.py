"""Training-recipe options: the 3D tokenizer inflated from the 2D patch embedding,
class-imbalance handling (weighted loss, balanced sampling) and the validation metric that picks
the reported checkpoint."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_cfg

from mosaic_kit.config import load_config
from mosaic_kit.data.files import Split
from mosaic_kit.data.registry import get_info
from mosaic_kit.data.stream import BatchStream
from mosaic_kit.methods import build_model
from mosaic_kit.train.optim import class_weights, task_loss


def test_inflated_tokenizer_sees_a_depth_constant_volume_as_its_2d_slice(tmp_path):
    # test_vit: patch 16; at 32 px a 2 x 2 grid. Volumes 16^3 with patch 8: 2 x 2 x 2 tokens.
    model, _ = build_model(
        tiny_cfg(tmp_path, method="mos", datasets=["adrenalmnist3d"], tokenizer_3d_init="inflate")
    )
    vit, tok = model.vit, model.tokenizer_3d
    g = torch.Generator().manual_seed(0)
    # varies inside each patch: a transposed kernel would show
    plane = torch.randn(3, 1, 16, 16, generator=g)
    # 16-px patches, 2 x 2
    image = plane.repeat_interleave(2, -1).repeat_interleave(2, -2).expand(-1, 3, -1, -1)
    volume = plane.unsqueeze(2).expand(-1, -1, 16, -1, -1)
    with torch.no_grad():
        t2 = vit.patch_embed(image).reshape(3, 4, -1)  # (3, 4, D), row-major grid
        t3 = tok.proj(volume).flatten(2).transpose(1, 2)  # (3, 8, D): depth-major
    for z in range(2):  # every depth slice of tokens is the 2D token grid
        torch.testing.assert_close(t3[:, 4 * z : 4 * z + 4], t2, atol=1e-5, rtol=1e-4)
    pos2d, pos3d = vit.pos_embed[0], tok.pos_embed[0]
    torch.testing.assert_close(pos3d[0], pos2d[0])  # CLS row
    torch.testing.assert_close(pos3d[1:5], pos2d[1:])  # depth slice 0: the 2D grid
    torch.testing.assert_close(pos3d[5:], pos2d[1:])  # depth slice 1: the same
    random, _ = build_model(tiny_cfg(tmp_path, method="mos", datasets=["adrenalmnist3d"]))
    assert not torch.allclose(random.tokenizer_3d.proj.weight, tok.proj.weight)
    with pytest.raises(
        ValueError, match="tokenizer_3d_init must be one of auto, random, inflate, acs"
    ):
        tiny_cfg(tmp_path, tokenizer_3d_init="imagenet")


def test_the_inflated_tokenizer_is_the_2_5d_tokenizer_on_any_volume(tmp_path):
    # 2.5D: the pretrained 2D patch embedding on every axial slice, averaged over the slices of each
    # depth chunk, plus a depth embedding. On a volume that varies along depth, inflation gives
    # exactly that token grid.
    model, _ = build_model(
        tiny_cfg(tmp_path, method="mos", datasets=["adrenalmnist3d"], tokenizer_3d_init="inflate")
    )
    vit, tok = model.vit, model.tokenizer_3d
    # no constant axis
    volume = torch.randn(2, 1, 16, 16, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        # (2, depth chunk, 2 x 2 grid, D)
        t3 = tok.proj(volume).flatten(2).transpose(1, 2).reshape(2, 2, 4, -1)
        # every axial slice as a gray image, 2x up to 32 px
        slices = volume[:, 0].reshape(2 * 16, 1, 16, 16)
        image = slices.repeat_interleave(2, -1).repeat_interleave(2, -2).expand(-1, 3, -1, -1)
        # (2, depth chunk, slice in chunk, grid, D)
        per_slice = vit.patch_embed(image).reshape(2, 2, 8, 4, -1)
    torch.testing.assert_close(t3, per_slice.mean(2), atol=1e-5, rtol=1e-4)
    # the depth embedding: one trainable position row per token, so each depth chunk learns its own
    # offset; the two depth chunks start from the same 2D grid
    assert tok.pos_embed.shape[1] == 1 + 8
    torch.testing.assert_close(tok.pos_embed[0, 1:5], tok.pos_embed[0, 5:])
    assert "tokenizer_3d.pos_embed" in {n for n, p in model.named_parameters() if p.requires_grad}


def test_acs_tokenizer_gives_each_plane_group_the_2d_tokens_of_a_volume_constant_along_its_axis(
    tmp_path,
):
    from mosaic_kit.models.inflate import acs_groups

    model, _ = build_model(
        tiny_cfg(tmp_path, method="mos", datasets=["adrenalmnist3d"], tokenizer_3d_init="acs")
    )
    vit, tok = model.vit, model.tokenizer_3d
    g = torch.Generator().manual_seed(1)
    # a pattern that varies inside each patch (a patch-constant one would not tell the planes
    # apart): the 16 x 16 slice of the volume, and the 32 x 32 image with each of its pixels
    # repeated 2 x 2 (the 16-px 2D patch of the backbone is block-averaged to the 8-voxel 3D patch)
    plane = torch.randn(3, 1, 16, 16, generator=g)  # rows x columns
    image = plane.repeat_interleave(2, -1).repeat_interleave(2, -2).expand(-1, 3, -1, -1)
    # constant along W: rows D, columns H
    volumes = {
        2: plane.unsqueeze(2).expand(-1, -1, 16, -1, -1),  # constant along depth: rows H, columns W
        3: plane.unsqueeze(3).expand(-1, -1, -1, 16, -1),  # constant along H: rows D, columns W
        4: plane.unsqueeze(4).expand(-1, -1, -1, -1, 16),
    }
    with torch.no_grad():
        t2 = vit.patch_embed(image).reshape(3, 2, 2, -1)  # (3, row, column, D)
        for group, axis in zip(acs_groups(t2.shape[-1]), (2, 3, 4)):
            t3 = tok.proj(volumes[axis]).permute(0, 2, 3, 4, 1)  # (3, d, h, w, D)
            for i in range(2):  # the constant axis's two token positions both see the 2D grid
                got = t3.select(axis - 1, i)[..., group]
                torch.testing.assert_close(got, t2[..., group], atol=1e-5, rtol=1e-4)
    assert [s.stop - s.start for s in acs_groups(192)] == [64, 64, 64]
    assert [s.stop - s.start for s in acs_groups(8)] == [3, 3, 2]
    inflated, _ = build_model(
        tiny_cfg(tmp_path, method="mos", datasets=["adrenalmnist3d"], tokenizer_3d_init="inflate")
    )
    # the axial group is plain inflation; the others are not
    axial = acs_groups(tok.proj.out_channels)[0]
    torch.testing.assert_close(tok.proj.weight[axial], inflated.tokenizer_3d.proj.weight[axial])
    assert not torch.allclose(tok.proj.weight, inflated.tokenizer_3d.proj.weight)
    torch.testing.assert_close(tok.pos_embed, inflated.tokenizer_3d.pos_embed)


def test_inflation_resamples_a_larger_patch_and_keeps_each_backbone_own(tmp_path):
    from safetensors.torch import save_file

    from mosaic_kit.models.backbone import create_backbone

    torch.manual_seed(3)
    save_file(create_backbone("test_vit", None, 32).state_dict(), str(tmp_path / "med.safetensors"))
    model, _ = build_model(
        tiny_cfg(
            tmp_path,
            method="gmoe",
            gmoe_medical_weights=str(tmp_path / "med.safetensors"),
            tokenizer_3d_init="inflate",
            vol_size=32,
            patch_3d=4,
        )
    )
    for vit, tok in (
        (model.vit, model.tokenizer_3d),
        (model.medical.vit, model.medical.tokenizer_3d),
    ):
        w2, w3 = vit.patch_embed.proj.weight, tok.proj.weight  # 16x16 kernels into 4x4x4
        assert w3.shape[2:] == (4, 4, 4)
        # a constant volume: the same response as a constant gray image (the sum of the kernel is
        # kept)
        torch.testing.assert_close(w3.sum((1, 2, 3, 4)), w2.sum((1, 2, 3)), rtol=1e-4, atol=1e-4)
    assert not torch.allclose(
        model.tokenizer_3d.proj.weight, model.medical.tokenizer_3d.proj.weight
    )


def _split(name, labels):
    info = get_info(name)
    shape = (len(labels),) + ((28,) * 3 if info.is_3d else (28, 28))
    return Split(
        info,
        "train",
        np.zeros(shape, np.uint8),
        np.asarray(labels, np.int64).reshape(len(labels), -1),
    )


def test_class_weights_and_the_weighted_loss():
    labels = np.array([0] * 30 + [1] * 10)  # breastmnist: 2 classes, 3:1
    w = class_weights("breastmnist", labels.reshape(-1, 1))
    torch.testing.assert_close(w, torch.tensor([40 / (2 * 30), 40 / (2 * 10)]))
    logits, y = torch.randn(8, 2), torch.tensor([[0], [1]] * 4)
    # balanced split: weights of 1, the plain loss
    torch.testing.assert_close(
        task_loss("breastmnist", logits, y, class_weights("breastmnist", y.numpy())),
        task_loss("breastmnist", logits, y),
    )
    # the rare class's errors count three times as much
    only_rare = torch.tensor([[1]] * 8)
    assert task_loss("breastmnist", logits, only_rare, w) == pytest.approx(
        float(task_loss("breastmnist", logits, only_rare))
    )
    per = torch.nn.functional.cross_entropy(logits, y[:, 0], reduction="none")
    expected = (per * w[y[:, 0]]).sum() / w[y[:, 0]].sum()
    torch.testing.assert_close(task_loss("breastmnist", logits, y, w), expected)
    multi = class_weights("chestmnist", np.array([[1] + [0] * 13, [0] * 14, [0] * 14, [1] * 14]))
    # negatives / positives per label
    assert multi[0] == pytest.approx(1.0) and multi[1] == pytest.approx(3.0)


def test_balanced_sampling_draws_classes_evenly_and_resumes():
    split = _split("breastmnist", [0] * 90 + [1] * 10)
    stream = BatchStream(split, 10, seed=1, balanced=True)
    drawn = np.concatenate([split.labels[stream.next_index()][:, 0] for _ in range(40)])
    # the rare class fills about half the batches (10 % of the split)
    assert 0.4 < drawn.mean() < 0.6
    plain = BatchStream(split, 10, seed=1)
    assert np.concatenate(
        [split.labels[plain.next_index()][:, 0] for _ in range(10)]
    ).mean() == pytest.approx(0.1)
    again = BatchStream(split, 10, seed=1, balanced=True)
    again.load_state_dict({"epoch": 3, "position": 20})
    stream.load_state_dict({"epoch": 3, "position": 20})
    assert np.array_equal(stream.next_index(), again.next_index())
    with pytest.raises(
        ValueError, match="multi-label: class-balanced sampling .* use class_balance=loss"
    ):
        BatchStream(_split("chestmnist", np.zeros((4, 14))), 2, seed=0, balanced=True)


@pytest.mark.parametrize("balance", ["loss", "sampler"])
def test_a_run_with_class_balance_trains(tmp_path, balance):
    from mosaic_kit.train import train

    run = train(
        tiny_cfg(
            tmp_path, datasets=["breastmnist"], class_balance=balance, rounds=1, eval_max_samples=16
        ),
        progress=False,
    )
    assert json.loads((run / "results.json").read_text())["config"]["class_balance"] == balance


def test_the_best_round_is_chosen_on_the_select_metric(tmp_path):
    from mosaic_kit.train import train
    from mosaic_kit.utils.checkpoint import load_tensors

    run = train(
        tiny_cfg(
            tmp_path,
            datasets=["breastmnist", "pneumoniamnist"],
            select_metric="auc",
            rounds=4,
            patience=0,
            eval_max_samples=48,
            lr=3e-3,
        ),
        progress=False,
    )
    rounds = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rounds = [r for r in rounds if r.get("kind") == "round"]
    best = max(range(len(rounds)), key=lambda i: (rounds[i]["val_auc"], -i))
    assert int(load_tensors(run / "best.safetensors")[1]["round"]) == rounds[best]["round"]
    assert [r["best"] for r in rounds] == [
        i == 0 or r["val_auc"] > max(q["val_auc"] for q in rounds[:i]) for i, r in enumerate(rounds)
    ]


def test_auto_inflates_exactly_when_backbone_weights_are_given(tmp_path):
    # random backbone: nothing worth inflating
    assert tiny_cfg(tmp_path).tokenizer_3d_init == "random"
    weights = str(tmp_path / "w.safetensors")
    # what config.yaml then records
    assert tiny_cfg(tmp_path, weights=weights).tokenizer_3d_init == "inflate"
    assert (
        tiny_cfg(tmp_path, weights=weights, tokenizer_3d_init="random").tokenizer_3d_init
        == "random"
    )
    # the paper's setting
    assert load_config("paper", overrides={"weights": weights}).tokenizer_3d_init == "random"


def test_the_cpu_real_preset_holds_the_values_its_5_seed_results_were_measured_with(tmp_path):
    from conftest import DEIT_TINY, REAL_MEDMNIST, need

    cfg = load_config(
        "cpu-real",
        overrides={
            "weights": str(need(DEIT_TINY)),
            "data_root": str(need(REAL_MEDMNIST)),
            "download": False,
            "out": str(tmp_path / "run"),
        },
    )
    assert (cfg.tokenizer_3d_init, cfg.img_size, cfg.class_balance, cfg.select_metric) == (
        "inflate",
        112,
        "none",
        "acc",
    )
    assert cfg.backbone == "deit_tiny_patch16_224" and cfg.device == "cpu" and cfg.patience == 0
    # fetched the way timm does
    assert load_config("cpu-real").weights == "timm:deit_tiny_patch16_224.fb_in1k"
    model, _ = build_model(cfg)  # the 3D tokenizer starts as the inflated pretrained 2D embedding
    from mosaic_kit.models.mosaic import volume_tokenizer

    again = volume_tokenizer(model.vit, cfg.vol_size, cfg.patch_3d, "inflate")
    torch.testing.assert_close(model.tokenizer_3d.proj.weight, again.proj.weight)
    torch.testing.assert_close(model.tokenizer_3d.pos_embed, again.pos_embed)


def test_the_generalist_preset_is_what_the_generalist_plan_runs_for_mosaic(tmp_path):
    """plans/generalist-real4.yaml's MOSAIC arm and the preset generalist-real resolve to one
    configuration, apart from where the files are (data_root, weights, download) and the run's
    own keys (seed, out)."""
    from mosaic_kit.experiments.plan import load_plan

    root = Path(__file__).resolve().parents[1]
    run = next(
        r
        for r in load_plan(root / "plans" / "generalist-real4.yaml", root=root).runs
        if r.label == "mosaic"
    )
    planned = load_config(
        run.parameters["preset"], overrides={**run.parameters["overrides"], "out": "x"}
    ).to_dict()
    preset = load_config("generalist-real", overrides={"out": "x", "seed": run.seed}).to_dict()
    differ = {k for k in planned if planned[k] != preset[k]}
    assert differ <= {"data_root", "weights", "download"}, {
        k: (planned[k], preset[k]) for k in differ
    }
    assert preset["datasets"] == ["retinamnist", "breastmnist", "pneumoniamnist", "adrenalmnist3d"]


def test_the_schedule_plan_judges_the_preset_against_its_own_settings_at_6_x_20():
    """plans/schedule-real-cpu.yaml: its 8x80 arm is the preset cpu-real (the runs cpu-real-seeds
    reports), its 6x20 arm differs in the schedule only, and the lever table takes 6x20 as the
    baseline."""
    from mosaic_kit.experiments.plan import load_plan

    root = Path(__file__).resolve().parents[1]
    plan = load_plan(root / "plans" / "schedule-real-cpu.yaml", root=root)
    seeds = load_plan(root / "plans" / "cpu-real-seeds.yaml", root=root)
    arms = {}
    for r in plan.runs:
        arms.setdefault(
            r.label,
            load_config(
                r.parameters["preset"], overrides={**r.parameters["overrides"], "out": "x"}
            ).to_dict(),
        )
    preset = load_config("cpu-real", overrides={"out": "x"}).to_dict()
    assert {k for k in preset if arms["8x80"][k] != preset[k]} <= {
        "data_root",
        "weights",
        "download",
        "seed",
    }
    assert {k for k in preset if arms["6x20"][k] != arms["8x80"][k]} == {
        "rounds",
        "steps_per_dataset",
        "warmup_steps",
    }
    assert (arms["6x20"]["rounds"], arms["6x20"]["steps_per_dataset"]) == (6, 20)
    same = {r.run_dir: r.parameters for r in plan.runs if r.label == "8x80"}
    assert {r.run_dir: r.parameters for r in seeds.runs} == same  # one training serves both plans
    assert plan.baseline == "6x20"


def test_cpu_real_3d_is_the_3d_half_of_cpu_real_written_out():
    three, joint = load_config("cpu-real-3d").to_dict(), load_config("cpu-real").to_dict()
    keys = (
        "size_3d",
        "vol_size",
        "patch_3d",
        "tokenizer_3d_init",
        "bottleneck_c",
        "rot90_3d",
        "affine_3d",
        "jitter_3d",
        "lr_3d_scale",
        "steps_per_dataset_3d",
        "rounds",
        "steps_per_dataset",
        "batch_size",
        "lr",
        "warmup_steps",
        "ema_momentum_3d",
        "patience",
        "select_metric",
        "class_balance",
        "backbone",
        "weights",
    )
    assert {k: three[k] for k in keys} == {k: joint[k] for k in keys}
    assert three["datasets"] == ["adrenalmnist3d"]
    text = (
        Path(__file__).resolve().parents[1]
        / "mosaic_kit"
        / "config"
        / "presets"
        / "cpu-real-3d.yaml"
    ).read_text()
    # every 3D choice written out, not inherited silently
    assert all(f"\n{k}:" in text for k in keys[:10])


REPORTS = Path(__file__).resolve().parents[1] / "reports"


@pytest.mark.parametrize(
    "report, preset, lever, metric, written",
    [
        ("ablation-real-cpu", "cpu-real", "px-224", "acc", "+4.0 [+1.1, +6.9]"),
        ("ablation-real-cpu", "cpu-real", "vol-28-p4", "auc", "-0.1 [-2.7, +2.4]"),
        ("ablation-real-cpu", "cpu-real", "inflate-3d", "auc", "+4.0 [-0.2, +8.3]"),
        ("volumes-real-cpu", "cpu-real-3d", "acs", "auc", "+1.9 [-1.1, +4.9]"),
        ("volumes-real-cpu", "cpu-real-3d", "aug-strong", "auc", "-7.1 [-12.4, -1.8]"),
    ],
)
def test_the_preset_comments_quote_the_paired_comparison_of_the_committed_outputs(
    report, preset, lever, metric, written
):
    """The presets' comments give lever - baseline on validation (last round, 5 seeds, on the
    datasets whose outputs the lever changed) from a plan's committed per-sample outputs:
    recomputed here, they must read as written."""
    from mosaic_kit.reports.compare import arm as outputs_of
    from mosaic_kit.reports.compare import changed_datasets, compare_records, selection_checkpoint
    from mosaic_kit.reports.table import find_runs, load_records

    runs = REPORTS / report / "runs"
    if not runs.is_dir():
        pytest.skip(f"the committed {report} report is not in this checkout")
    records = load_records(find_runs([str(runs / "baseline"), str(runs / lever)]), split=False)
    base, arm = ([r for r in records if r.label == lab] for lab in ("baseline", lever))
    assert selection_checkpoint(records) == "last" and len(base) == len(arm) == 5
    # as the lever table
    on = changed_datasets(outputs_of(arm, "val", "last"), outputs_of(base, "val", "last"))
    c = compare_records(arm, base, metric, "val", "last", datasets=on)
    assert f"{100 * c.diff:+.1f} [{100 * c.low:+.1f}, {100 * c.high:+.1f}]" == written
    text = (REPORTS.parent / "mosaic_kit" / "config" / "presets" / f"{preset}.yaml").read_text()
    assert written in " ".join(line.split("#", 1)[-1].strip() for line in text.splitlines())
