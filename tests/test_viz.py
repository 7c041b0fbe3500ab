"""Attention recording and rollout, captum attributions, specialist subspaces, and the notebook
figures."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from conftest import tiny_cfg

from mosaic_kit.viz import (
    AttentionRecorder,
    attention_rollout,
    collect_features,
    embed_2d,
    inside_figures,
    integrated_gradients,
    linear_cka,
    patch_attributions,
    rollout_map,
    specialist_angles,
    specialist_cka,
)
from mosaic_kit.viz.workbench import Workbench


@pytest.fixture(scope="module")
def wb(tmp_path_factory):
    """Untrained workbench whose up-projections are made non-zero, so specialists differ from
    each other."""
    bench = Workbench.untrained(tiny_cfg(tmp_path_factory.mktemp("viz")))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in bench.model.named_parameters():
            if ".up." in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return bench


def test_recorder_captures_every_layer_and_leaves_model_untouched(wb):
    m = wb.model
    x = wb.prepared("breastmnist", "test", [0, 1, 2])
    before = m(x, "breastmnist")
    with AttentionRecorder(m) as rec:
        during = m(x, "breastmnist")
        assert all(not blk.attn.fused_attn for blk in m.vit.blocks)
    depth, n = len(m.vit.blocks), 1 + (32 // 16) ** 2
    assert len(rec.attentions) == depth
    assert rec.attentions[0].shape == (3, m.vit.blocks[0].attn.num_heads, n, n)
    torch.testing.assert_close(
        rec.attentions[0].sum(-1), torch.ones(3, rec.attentions[0].shape[1], n)
    )
    # unfused path computes the same thing
    torch.testing.assert_close(during, before, atol=1e-5, rtol=1e-4)
    assert all(blk.attn.fused_attn for blk in m.vit.blocks)
    assert all(not blk.attn.attn_drop._forward_hooks for blk in m.vit.blocks)


def test_rollout_rows_are_distributions(wb):
    x = wb.prepared("adrenalmnist3d", "test", [0, 1])
    with AttentionRecorder(wb.model) as rec:
        wb.model(x, "adrenalmnist3d")
    r = attention_rollout(rec.attentions)
    assert r.shape == (2, 9, 9)  # CLS + (16/8)^3 tokens
    torch.testing.assert_close(r.sum(-1), torch.ones(2, 9))
    assert (r >= 0).all()
    # identity attention rolls out to the identity
    eye = [torch.eye(5).expand(1, 2, 5, 5)] * 3
    torch.testing.assert_close(attention_rollout(eye), torch.eye(5).expand(1, 5, 5))
    with pytest.raises(ValueError, match="No attention recorded"):
        attention_rollout([])


def test_rollout_map_shapes_and_forced_specialists_differ(wb):
    x = wb.prepared("breastmnist", "test", [0, 1])
    la, ma = rollout_map(wb.model, x, "breastmnist", "A", out_size=28)
    lb, mb = rollout_map(wb.model, x, "breastmnist", "B", out_size=28)
    assert ma.shape == (2, 28, 28) and float(ma.min()) >= 0 and float(ma.max()) <= 1
    assert not torch.allclose(la, lb)
    _, m3 = rollout_map(
        wb.model, wb.prepared("adrenalmnist3d", "test", [0]), "adrenalmnist3d", out_size=28
    )
    assert m3.shape == (1, 28, 28, 28)


@pytest.mark.parametrize("dataset", ["pathmnist", "adrenalmnist3d"])
def test_integrated_gradients_completeness(wb, dataset):
    x = wb.prepared(dataset, "test", [0, 1])
    attr, delta = integrated_gradients(wb.model, dataset, x, steps=64)
    assert attr.shape == x.shape
    f = lambda inp: wb.model(inp, dataset).detach()  # noqa: E731
    target = f(x).argmax(-1)
    gap = (f(x) - f(torch.zeros_like(x))).gather(1, target[:, None]).squeeze(1)
    torch.testing.assert_close(
        attr.flatten(1).sum(1), gap.detach(), atol=2e-2 * float(gap.abs().max()) + 1e-4, rtol=0
    )
    assert float(delta.abs().max()) < 2e-2 * float(gap.abs().max()) + 1e-4


def test_patch_attributions_one_value_per_token_and_complete(wb):
    x = wb.prepared("breastmnist", "test", [0, 1])
    p = patch_attributions(wb.model, "breastmnist", x, steps=64)
    assert p.shape == (2, 2, 2)
    logits, base = wb.model(x, "breastmnist"), wb.model(torch.zeros_like(x), "breastmnist")
    t = logits.argmax(-1)
    gap = (logits - base).gather(1, t[:, None]).squeeze(1).detach()
    torch.testing.assert_close(
        p.flatten(1).sum(1), gap, atol=2e-2 * float(gap.abs().max()) + 1e-4, rtol=0
    )
    assert patch_attributions(
        wb.model, "adrenalmnist3d", wb.prepared("adrenalmnist3d", "test", [0])
    ).shape == (1, 2, 2, 2)


def test_linear_cka_invariances():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16))
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    assert linear_cka(x, 3.0 * x @ q) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(x, rng.normal(size=(200, 16))) < 0.2
    assert np.isnan(linear_cka(x, np.ones((200, 16))))


def test_specialist_angles(tmp_path, wb):
    fresh = Workbench.untrained(tiny_cfg(tmp_path)).model
    # zero-init: no subspace yet
    assert all(np.isnan(v).all() for v in specialist_angles(fresh).values())
    angles = specialist_angles(wb.model)
    assert set(angles) == {("A", "B"), ("A", "C"), ("B", "C")}
    for v in angles.values():
        assert v.shape == (len(wb.model.vit.blocks),) and ((v >= 0) & (v <= 90)).all()
    with torch.no_grad():  # a specialist that spans B's space (plus more) has zero angle to it
        for blk in fresh.vit.blocks:
            up_b = blk.mos.specialists["B"].up.weight
            up_b.copy_(torch.randn_like(up_b))
            blk.mos.specialists["C"].up.weight[:, : up_b.shape[1]].copy_(up_b)
    assert np.allclose(specialist_angles(fresh, ["B", "C"])[("B", "C")], 0.0, atol=1e-5)


def test_random_subspace_baseline(wb):
    from mosaic_kit.viz import random_subspace_angles, specialist_angle_baselines

    # random lines in a plane: uniform on [0, 90]
    mean, sd = random_subspace_angles(2, 1, 1, n_draws=4000)
    assert abs(mean - 45.0) < 1.5 and abs(sd - 90 / 12**0.5) < 1.5
    wide, narrow = random_subspace_angles(64, 4, 4), random_subspace_angles(64, 24, 24)
    assert wide[0] > narrow[0]  # larger ranks in the same space leave random subspaces closer
    base = specialist_angle_baselines(wb.model, n_draws=50)
    assert set(base) == set(specialist_angles(wb.model)) and all(
        0 < m < 90 for m, _ in base.values()
    )


def test_features_and_cka(wb):
    splits = {n: wb.data[n]["test"] for n in wb.datasets}
    feats = collect_features(wb.model, splits, wb.norm, n_per_dataset=10)
    depth, dim = len(wb.model.vit.blocks), wb.model.embed_dim
    assert feats["cls"].shape == (30, dim) and feats["adapter"].shape == (30, depth, dim)
    assert list(np.unique(feats["dataset"])) == sorted(wb.datasets)
    assert dict(zip(feats["dataset"], feats["specialist"])) == {
        "pathmnist": "A",
        "breastmnist": "B",
        "adrenalmnist3d": "C",
    }
    assert embed_2d(feats["cls"]).shape == (30, 2) and embed_2d(feats["cls"], "tsne").shape == (
        30,
        2,
    )
    cka = specialist_cka(wb.model, "pathmnist", wb.prepared("pathmnist", "test", list(range(12))))
    assert all(v.shape == (depth,) and np.all((v > 0) & (v <= 1 + 1e-9)) for v in cka.values())


def test_dataset_output_angles_separate_subspaces_and_see_shared_ones():
    """Two datasets whose outputs live in orthogonal subspaces sit at 90 degrees; two in one
    subspace at ~0; a dataset with all-zero outputs has no subspace."""
    from mosaic_kit.viz import dataset_output_angles

    rng = np.random.default_rng(0)
    q = np.linalg.qr(rng.standard_normal((32, 8)))[0]
    own, other = q[:, :4], q[:, 4:]
    rows = [
        rng.standard_normal((20, 4)) @ own.T,
        rng.standard_normal((20, 4)) @ own.T,
        rng.standard_normal((20, 4)) @ other.T,
        np.zeros((20, 32)),
    ]
    feats = {
        "adapter": np.concatenate(rows)[:, None, :].repeat(2, 1),
        "dataset": np.array(sum(([n] * 20 for n in ("a", "a2", "b", "zero")), [])),
    }
    got = dataset_output_angles(feats, k=4)
    assert got[("a", "b")] == pytest.approx([90.0, 90.0], abs=1e-6)
    assert got[("a", "a2")] == pytest.approx([0.0, 0.0], abs=1e-4)
    assert np.isnan(got[("a", "zero")]).all()
    with pytest.raises(ValueError, match="more than k=32 samples per dataset"):
        dataset_output_angles(feats, k=32)


def test_figures_render(wb):
    fig = inside_figures.attention_figure(wb, "adrenalmnist3d", [0, 1])
    assert len(fig.axes) == 2 * 5 + 1  # image + A, B, C forced + bare backbone, and one colour bar
    # the routed specialist comes first after the image
    assert "specialist C ★" in fig.axes[1].get_title()
    assert "backbone only" in fig.axes[4].get_title()
    label = wb.raw("adrenalmnist3d", "test", [0])[1][0][0]
    # names, never bare arrays
    assert f"true: {label}: synthetic class {label}" in fig.axes[0].get_title()
    assert "slice 14 of 28" in fig.axes[0].get_title()
    assert fig.axes[-1].get_ylabel() == "attention rollout"
    fig2, delta = inside_figures.attribution_figure(wb, "breastmnist", [0], steps=16)
    assert len(fig2.axes) == 3 + 2 and delta.shape == (1,)
    fig3 = inside_figures.student_teacher_figure(wb, "pathmnist", [0])
    assert len(fig3.axes) == 4 + 1
    # RGB images (H, W, 3): maps must cover the image at its own resolution, not at the channel
    # count
    rgb = inside_figures.attention_figure(wb, "pathmnist", [0])
    for ax in rgb.axes[1:-1]:  # the last axes is the colour bar
        image, heat = ax.get_images()
        assert image.get_array().shape == (28, 28, 3) and heat.get_array().shape == (28, 28)
    heat = fig2.axes[1].get_images()[1].get_array()
    assert heat.shape == (28, 28)


def test_workbench_index_errors(wb):
    with pytest.raises(IndexError, match="breastmnist/test has"):
        wb.raw("breastmnist", "test", [10_000])
    assert wb.source == "random adapters (untrained)" and not wb.trained
