"""3D levers: ACS tokenizer (tested in test_recipe), volume augmentations, a learning rate and a
step count of their own for the volumes."""

import numpy as np
import pytest
import torch
from conftest import tiny_cfg

from mosaic_kit.data.transforms import Normalization, prepare_3d
from mosaic_kit.methods import build_model
from mosaic_kit.train.optim import (
    build_optimizer,
    build_scheduler,
    steps_per_round,
    volume_only_parameters,
)

NORM = Normalization((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def _volumes(n=6, side=16, seed=0):
    return torch.from_numpy(
        np.random.default_rng(seed).integers(0, 256, (n, side, side, side), dtype=np.uint8)
    )


def _aug(vols, seed, **kw):
    return prepare_3d(
        vols, 16, NORM, augment=True, generator=torch.Generator().manual_seed(seed), **kw
    )


def test_volume_augmentations_are_seeded_and_resume_from_the_generator_state():
    vols = _volumes()
    for kw in ({}, {"rot90": True}, {"rot90": True, "affine": 0.1}):
        torch.testing.assert_close(_aug(vols, 5, **kw), _aug(vols, 5, **kw))
        assert not torch.allclose(_aug(vols, 5, **kw), _aug(vols, 6, **kw))
        gen = torch.Generator().manual_seed(9)
        prepare_3d(vols, 16, NORM, augment=True, generator=gen, **kw)
        state = gen.get_state()  # a checkpoint between two batches
        second = prepare_3d(vols, 16, NORM, augment=True, generator=gen, **kw)
        resumed = torch.Generator()
        resumed.set_state(state)
        torch.testing.assert_close(
            prepare_3d(vols, 16, NORM, augment=True, generator=resumed, **kw), second
        )
    # options that are off draw nothing: the flips and jitter of a run without them are unchanged
    torch.testing.assert_close(_aug(vols, 5, rot90=False, affine=0.0), _aug(vols, 5))


def test_rot90_only_turns_the_axial_plane_and_keeps_every_voxel():
    vols = _volumes(n=32)
    plain = _aug(vols, 3, jitter=(0.0, 0.0))  # flips only
    turned = _aug(vols, 3, jitter=(0.0, 0.0), rot90=True)
    quarters = []
    for a, b in zip(plain[:, 0], turned[:, 0]):
        k = [k for k in range(4) if torch.equal(a.rot90(k, dims=(1, 2)), b)]
        assert len(k) == 1  # exactly one of the four in-plane turns of the flipped volume
        quarters.append(k[0])
    assert set(quarters) == {0, 1, 2, 3}  # all four turns drawn over 32 volumes


def test_affine_zoom_and_shift_keep_a_centred_blob_and_move_it_by_at_most_the_range():
    side = 32
    z, y, x = torch.meshgrid(*[torch.arange(side, dtype=torch.float32)] * 3, indexing="ij")
    blob = ((z - 15.5) ** 2 + (y - 15.5) ** 2 + (x - 15.5) ** 2 < 36).to(torch.uint8) * 255
    vols = blob.expand(64, -1, -1, -1)
    out = prepare_3d(
        vols,
        side,
        NORM,
        augment=True,
        generator=torch.Generator().manual_seed(0),
        jitter=(0.0, 0.0),
        affine=0.1,
    )
    mass = (out[:, 0] * 0.5 + 0.5).clamp(0, 1)
    volume = mass.sum((1, 2, 3)) / mass[0].numel()
    ref = (blob > 0).float().mean()
    assert ((volume / ref) > 0.9**3 * 0.95).all() and (
        (volume / ref) < 1.1**3 * 1.05
    ).all()  # zoom in 1 +- 0.1
    centre = torch.stack([(mass * g).sum((1, 2, 3)) / mass.sum((1, 2, 3)) for g in (z, y, x)], 1)
    offset = (centre - 15.5).abs()
    # moved, by at most a tenth of the side
    assert offset.max() <= 0.1 * side + 0.5 and offset.max() > 0.5


def test_lr_3d_scale_gives_the_volume_only_tensors_their_own_learning_rate(tmp_path):
    cfg = tiny_cfg(
        tmp_path, method="mos", datasets=["breastmnist", "adrenalmnist3d"], lr=1e-3, lr_3d_scale=3.0
    )
    model, _ = build_model(cfg)
    only_3d = volume_only_parameters(model)
    assert any(n.startswith("tokenizer_3d.") for n in only_3d) and any(
        n.startswith("heads.adrenalmnist3d.") for n in only_3d
    )
    assert not any(n.startswith(("heads.breastmnist.", "vit.patch_embed")) for n in only_3d)
    # specialist C's tensors only
    assert all(".mos." in n for n in only_3d if n.startswith("vit.blocks."))
    opt = build_optimizer(model, cfg)
    names = {id(p): n for n, p in model.named_parameters()}
    for group in opt.param_groups:
        is_3d = {names[id(p)] in only_3d for p in group["params"]}
        assert len(is_3d) == 1
        assert group["lr"] == pytest.approx(3e-3 if is_3d.pop() else 1e-3)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == n_trainable
    # warm-up and cosine keep the ratio (up to the shared floors)
    sched = build_scheduler(opt, cfg, 100)
    for t in (3, 50):
        sched.step_update(t)
        lrs = sorted({round(g["lr"] / opt.param_groups[0]["lr"], 2) for g in opt.param_groups})
        assert lrs == [1.0, 3.0]
    plain = build_optimizer(
        model, tiny_cfg(tmp_path, method="mos", datasets=["breastmnist", "adrenalmnist3d"])
    )
    assert len(plain.param_groups) == 2  # the default keeps the two groups earlier checkpoints hold


def test_steps_per_dataset_3d_gives_volumes_their_own_steps(tmp_path):
    names = ["breastmnist", "adrenalmnist3d"]
    cfg = tiny_cfg(tmp_path, datasets=names, steps_per_dataset=5, steps_per_dataset_3d=12)
    assert steps_per_round(cfg, names, {}) == {"breastmnist": 5, "adrenalmnist3d": 12}
    assert steps_per_round(tiny_cfg(tmp_path, datasets=names, steps_per_dataset=5), names, {}) == {
        "breastmnist": 5,
        "adrenalmnist3d": 5,
    }
    with pytest.raises(ValueError, match="steps_per_dataset_3d must be >= 1"):
        tiny_cfg(tmp_path, steps_per_dataset_3d=0)
    with pytest.raises(ValueError, match="affine_3d must be in"):
        tiny_cfg(tmp_path, affine_3d=0.7)


def test_a_run_with_every_volume_lever_trains_the_volumes_their_own_steps(tmp_path):
    import json

    from mosaic_kit.train import train

    run = train(
        tiny_cfg(
            tmp_path,
            datasets=["breastmnist", "adrenalmnist3d"],
            rounds=1,
            steps_per_dataset=3,
            steps_per_dataset_3d=5,
            tokenizer_3d_init="acs",
            rot90_3d=True,
            affine_3d=0.1,
            jitter_3d=0.2,
            lr_3d_scale=2.0,
            eval_max_samples=16,
        ),
        progress=False,
    )
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r["dataset"] for r in records if r.get("kind") == "step"]
    assert (steps.count("breastmnist"), steps.count("adrenalmnist3d")) == (3, 5)
    config = json.loads((run / "results.json").read_text())["config"]
    assert (config["tokenizer_3d_init"], config["rot90_3d"], config["lr_3d_scale"]) == (
        "acs",
        True,
        2.0,
    )


def test_the_volumes_plan_judges_each_lever_against_cpu_real_3d():
    from pathlib import Path

    from mosaic_kit.config import load_config
    from mosaic_kit.experiments.plan import load_plan

    root = Path(__file__).resolve().parents[1]
    plan = load_plan(root / "plans" / "volumes-real-cpu.yaml", root=root)
    assert len(plan.runs) == 30 and {r.seed for r in plan.runs} == {42, 123, 456, 789, 2024}
    assert plan.baseline == "baseline"

    def resolved(label):
        run = next(r for r in plan.runs if r.label == label and r.seed == 42)
        return load_config(
            run.parameters["preset"], overrides=run.parameters["overrides"]
        ).to_dict()

    base, preset = resolved("baseline"), load_config("cpu-real-3d").to_dict()
    assert {k for k in preset if preset[k] != base[k]} == {
        "data_root",
        "download",
        "weights",
        "seed",
        "out",
    } - {k for k in ("seed", "out") if preset[k] == base[k]}
    levers = {
        "acs": {"tokenizer_3d_init"},
        "aug-strong": {"rot90_3d", "affine_3d", "jitter_3d"},
        "lr-3e-3": {"lr"},
        "steps-160": {"steps_per_dataset", "warmup_steps"},
        "acs-aug-strong": {"tokenizer_3d_init", "rot90_3d", "affine_3d", "jitter_3d"},
    }
    for label, keys in levers.items():  # each arm moves its lever's keys and nothing else
        cfg = resolved(label)
        assert {k for k in cfg if cfg[k] != base[k]} == keys, label


def test_the_unseen_volumes_plan_runs_cpu_real_3d_unchanged_on_every_other_3d_file():
    from pathlib import Path

    from mosaic_kit.config import load_config
    from mosaic_kit.data.registry import resolve_datasets
    from mosaic_kit.experiments.plan import load_plan

    root = Path(__file__).resolve().parents[1]
    plan = load_plan(root / "plans" / "volumes-unseen.yaml", root=root)
    resolved = [
        load_config(r.parameters["preset"], overrides=r.parameters["overrides"]).to_dict()
        for r in plan.runs
    ]
    assert {tuple(c["datasets"]) for c in resolved} == {(n,) for n in resolve_datasets("3d")} - {
        ("adrenalmnist3d",)
    }
    # every file once before seed 123
    assert len(plan.runs) == 25 and [r.seed for r in plan.runs[:5]] == [42] * 5
    preset = load_config("cpu-real-3d").to_dict()
    for cfg in resolved:  # the recipe as written, nothing tuned per file
        assert {k for k in preset if preset[k] != cfg[k]} <= {"datasets", "seed", "out"}
