"""Every method through one table of checks: the intended tensors train (closed-form counts),
frozen tensors stay bit-identical after an optimiser step, zero-initialised methods start as the
backbone, the trainable state round-trips through a checkpoint, and a short synthetic run beats
chance."""

import json

import pytest
import torch
from conftest import tiny_cfg

from mosaic_kit.methods import available_methods, build_model, get_method, mixing_load
from mosaic_kit.models.backbone import create_backbone
from mosaic_kit.train import train
from mosaic_kit.utils.checkpoint import load_tensors, save_tensors, trainable_state

DATASETS = ["pathmnist", "breastmnist", "adrenalmnist3d"]
ZERO_INIT = {
    "mos",
    "mos-soft",
    "adapter",
    "adapter-dataset",
    "lora",
    "gmoe",
    "gmoe-shared",
    "linear",
    "bitfit",
    "partial",
    "full",
}


def _adapter(d, b):
    return d * b + b + b * d + d


def expected_trainable(method, cfg, model):
    """Closed-form count of what ``method`` should train, from the backbone's shape alone."""
    vit = model.vit
    d, depth, hidden = vit.embed_dim, len(vit.blocks), vit.blocks[0].mlp.fc1.out_features
    n3 = (cfg.vol_size // cfg.patch_3d) ** 3
    heads = sum((d + 1) * model.infos[n].n_classes for n in DATASETS)
    always = heads + d * cfg.patch_3d**3 + d + (1 + n3) * d  # heads, Conv3d, 3D position embedding
    abc = [cfg.bottleneck_a, cfg.bottleneck_b, cfg.bottleneck_c]
    # 2 norms, qkv, proj, mlp
    block = 4 * d + d * 3 * d + 3 * d + d * d + d + d * hidden + hidden + hidden * d + d
    return (
        always
        + {
            "mos": depth * sum(_adapter(d, b) for b in abc),
            "mos-soft": depth * (sum(_adapter(d, b) for b in abc) + 3 * d + 3),
            "adapter": depth * _adapter(d, cfg.adapter_bottleneck),
            "adapter-dataset": depth * len(DATASETS) * _adapter(d, cfg.adapter_bottleneck),
            "lora": depth * cfg.lora_rank * (d + 3 * d),
            "vpt": depth * cfg.vpt_prompts * d,
            "gmoe-shared": depth * (2 * _adapter(d, cfg.gmoe_bottleneck) + 2 * d + 2),
            # an adapter in every block of both backbones, the gate on both CLS features, a second
            # 3D tokenizer
            "gmoe": 2 * depth * _adapter(d, cfg.gmoe_bottleneck)
            + 2 * 2 * d
            + 2
            + d * cfg.patch_3d**3
            + d
            + (1 + n3) * d,
            "linear": 0,
            "bitfit": depth * (2 * d + 3 * d + d + hidden + d)
            + d
            + d,  # block biases, patch-embed bias, final-norm bias
            "partial": cfg.partial_blocks * block + 2 * d,
            "full": sum(
                p.numel()
                for n, p in model.named_parameters()
                if not n.startswith(("heads.", "tokenizer_3d."))
            ),
        }[method]
    )


@pytest.fixture(params=available_methods())
def method(request):
    return request.param


def _cfg(tmp_path, method, **kw):
    base = dict(
        datasets=DATASETS, adapter_bottleneck=10, lora_rank=4, vpt_prompts=3, gmoe_bottleneck=6
    )
    if (
        method == "gmoe"
    ):  # its second backbone: here a file holding the same random init as the first
        base["gmoe_medical_weights"] = str(
            _test_vit_file(tmp_path / "medical.safetensors", tiny_cfg(tmp_path).seed)
        )
    return tiny_cfg(tmp_path, method=method, **{**base, **kw})


def _test_vit_file(path, seed):
    """timm's test_vit at 32 px, initialised from ``seed``, saved in timm's layout."""
    from safetensors.torch import save_file

    if not path.exists():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            save_file(create_backbone("test_vit", None, 32).state_dict(), str(path))
    return path


def test_method_table_is_complete():
    assert set(available_methods()) == {
        "mos",
        "mos-soft",
        "adapter",
        "adapter-dataset",
        "lora",
        "vpt",
        "gmoe",
        "gmoe-shared",
        "linear",
        "bitfit",
        "partial",
        "full",
    }
    # the torch-free list the command line checks names against is the registered list, in order
    from mosaic_kit.config.method_keys import BUILTIN_METHODS

    assert list(available_methods()) == list(BUILTIN_METHODS)
    with pytest.raises(ValueError, match="Did you mean 'lora'"):
        get_method("lorra")


def test_trainable_tensors_match_formula(tmp_path, method):
    cfg = _cfg(tmp_path, method)
    model, _ = build_model(cfg)
    got = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert got == expected_trainable(method, cfg, model)
    assert all(
        p.requires_grad == get_method(method).trainable(n, model, cfg)
        for n, p in model.named_parameters()
    )


def test_step_changes_only_trainable_tensors(tmp_path, method):
    cfg = _cfg(tmp_path, method)
    model, _ = build_model(cfg)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    trainable = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    for name, x in (
        ("pathmnist", torch.randn(4, 3, 32, 32, generator=gen)),
        ("adrenalmnist3d", torch.randn(4, 1, 16, 16, 16, generator=gen)),
    ):
        opt.zero_grad()
        model(x, name).logsumexp(-1).sum().backward()
        opt.step()
    after = dict(model.named_parameters())
    assert all(torch.equal(after[n], t) for n, t in frozen.items())
    moved = [n for n, t in trainable.items() if not torch.equal(after[n], t)]
    assert moved, "no trainable tensor moved"
    # no batch of breast: its head stays
    assert not any(n.startswith("heads.breastmnist.") for n in moved)


def test_zero_init_methods_start_as_the_backbone(tmp_path, method):
    cfg = _cfg(tmp_path, method)
    model, _ = build_model(cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        bare = create_backbone(cfg.backbone, None, cfg.img_size).eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        ours, ref = model.eval().forward_features(x, "pathmnist"), bare.forward_features(x)[:, 0]
    if method in ZERO_INIT:
        torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    else:  # VPT's prompts are random tokens from the first step on
        assert not torch.allclose(ours, ref, atol=1e-4)


def test_trainable_state_round_trips(tmp_path, method):
    cfg = _cfg(tmp_path, method)
    model, _ = build_model(cfg)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    save_tensors(
        tmp_path / "ck.safetensors", {"student": trainable_state(model)}, {"method": method}
    )
    groups, meta = load_tensors(tmp_path / "ck.safetensors")
    fresh, _ = build_model(cfg)
    missing, unexpected = fresh.load_state_dict(groups["student"], strict=False)
    assert not unexpected and set(missing) == {
        n for n, p in fresh.named_parameters() if not p.requires_grad
    } | {n for n, _ in fresh.named_buffers()}
    x = torch.randn(2, 1, 16, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(
            fresh.eval()(x, "adrenalmnist3d"), model.eval()(x, "adrenalmnist3d")
        )
    assert meta["method"] == method


def test_short_run_beats_chance(tmp_path, method):
    lr = 1e-3 if method == "full" else 3e-3
    cfg = _cfg(
        tmp_path,
        method,
        datasets=["pathmnist"],
        img_size=64,
        rounds=3,
        steps_per_dataset=12,
        batch_size=32,
        lr=lr,
        warmup_steps=5,
        eval_max_samples=64,
        patience=0,
    )
    run = train(cfg, progress=False)
    res = json.loads((run / "results.json").read_text())
    assert res["mean_val"]["all"]["acc"] > 0.4, res["mean_val"]  # 9 classes: chance 0.11
    assert res["config"]["method"] == method
    experts = {
        "mos-soft": {"A", "B", "C"},
        "gmoe": {"general", "medical"},
        "gmoe-shared": {"general", "medical"},
    }.get(method)
    if (
        experts
    ):  # the router's / gate's mean weights per dataset (over layers and a validation batch)
        load = res["mixing_weights"]["pathmnist"]
        assert set(load) == experts and sum(load.values()) == pytest.approx(1.0, abs=1e-3)
    else:
        assert "mixing_weights" not in res


@pytest.mark.parametrize(
    "method, k, modules", [("mos-soft", 3, "blocks"), ("gmoe-shared", 2, "blocks"), ("gmoe", 2, 1)]
)
def test_mixing_load_is_a_distribution(tmp_path, method, k, modules):
    model, _ = build_model(_cfg(tmp_path, method))
    load = mixing_load(model, torch.randn(4, 3, 32, 32), "pathmnist")
    # a gate per block, or gmoe's one gate
    n = len(model.vit.blocks) if modules == "blocks" else modules
    assert load.shape == (n, k)
    torch.testing.assert_close(load.sum(-1), torch.ones(n))
    # zero-initialised router / gate: uniform
    torch.testing.assert_close(load, torch.full_like(load, 1 / k))
    assert (
        mixing_load(build_model(_cfg(tmp_path, "mos"))[0], torch.randn(4, 3, 32, 32), "pathmnist")
        is None
    )


def test_gmoe_experts_start_from_adapter_checkpoints(tmp_path):
    src, _ = build_model(_cfg(tmp_path, "adapter", adapter_bottleneck=6))
    with torch.no_grad():
        for n, p in src.named_parameters():
            if ".adapter." in n:
                p.normal_()
    save_tensors(
        tmp_path / "general.safetensors",
        {"student": trainable_state(src)},
        {"method": "adapter", "format": 2},
    )
    model, _ = build_model(
        _cfg(tmp_path, "gmoe-shared", gmoe_init_general=str(tmp_path / "general.safetensors"))
    )
    blk = model.vit.blocks[1].gmoe
    torch.testing.assert_close(
        blk.experts["general"].up.weight, src.vit.blocks[1].adapter.up.weight
    )
    assert torch.count_nonzero(blk.experts["medical"].up.weight) == 0
    with pytest.raises(ValueError, match="do not fit gmoe_bottleneck=5"):
        build_model(
            _cfg(
                tmp_path,
                "gmoe-shared",
                gmoe_bottleneck=5,
                gmoe_init_general=str(tmp_path / "general.safetensors"),
            )
        )
    with pytest.raises(FileNotFoundError, match="GMoE expert initialisation"):
        build_model(
            _cfg(tmp_path, "gmoe-shared", gmoe_init_medical=str(tmp_path / "nope.safetensors"))
        )
    # a checkpoint written before side modules had their own slot names (format 1:
    # ".mos.specialists.shared.")
    old = {
        n.replace(".adapter.", ".mos.specialists.shared."): t
        for n, t in trainable_state(src).items()
    }
    save_tensors(tmp_path / "old.safetensors", {"student": old}, {"method": "adapter"})
    model, _ = build_model(
        _cfg(tmp_path, "gmoe-shared", gmoe_init_medical=str(tmp_path / "old.safetensors"))
    )
    torch.testing.assert_close(
        model.vit.blocks[1].gmoe.experts["medical"].up.weight, src.vit.blocks[1].adapter.up.weight
    )
    save_tensors(tmp_path / "mos.safetensors", {"student": old}, {"method": "mos"})
    with pytest.raises(
        ValueError, match="written by method 'mos'; a GMoE expert starts from a method=adapter"
    ):
        build_model(
            _cfg(tmp_path, "gmoe-shared", gmoe_init_medical=str(tmp_path / "mos.safetensors"))
        )


def test_independent_trains_one_model_per_dataset(tmp_path):
    cfg = _cfg(
        tmp_path,
        "lora",
        datasets=["breastmnist", "adrenalmnist3d"],
        independent=True,
        rounds=1,
        steps_per_dataset=2,
        eval_max_samples=32,
    )
    run = train(cfg, progress=False)
    res = json.loads((run / "results.json").read_text())
    assert set(res["datasets"]) == {"breastmnist", "adrenalmnist3d"} and res["independent"]
    assert res["params"]["models"] == 2
    assert res["params"]["trainable"] == sum(res["params"]["per_model"].values())
    sub = [
        json.loads((run / n / "results.json").read_text())
        for n in ("breastmnist", "adrenalmnist3d")
    ]
    assert [list(s["datasets"]) for s in sub] == [["breastmnist"], ["adrenalmnist3d"]]
    assert res["datasets"]["breastmnist"] == sub[0]["datasets"]["breastmnist"]
    # the merged per-sample outputs: each model's own
    from mosaic_kit.evaluation.outputs import (
        load_outputs,
    )

    merged, own = load_outputs(run), load_outputs(run / "adrenalmnist3d")
    y, s = merged["last"]["teacher"]["adrenalmnist3d"]["test"]
    assert (y == own["last"]["teacher"]["adrenalmnist3d"]["test"][0]).all() and res["last"][
        "teacher"
    ]["datasets"]
    assert set(merged["best"]["student"]) == {"breastmnist", "adrenalmnist3d"}


def test_independent_runs_keep_what_each_model_checked_of_a_real_file(tmp_path):
    """The merged results of one model per dataset keep each part's provenance checks, so a table
    says the same of a same-splits file whichever way it was trained."""
    from conftest import REAL_MEDMNIST, need

    need(REAL_MEDMNIST / "breastmnist.npz")
    cfg = tiny_cfg(
        tmp_path,
        datasets=["breastmnist", "adrenalmnist3d"],
        data_root=str(REAL_MEDMNIST),
        independent=True,
        rounds=1,
        steps_per_dataset=1,
        eval_max_samples=16,
    )
    res = json.loads((train(cfg, progress=False) / "results.json").read_text())
    assert res["provenance"]["datasets"]["breastmnist"] == "same-splits"
    assert res["provenance"]["checks"] == {"breastmnist": "split sizes and label counts"}


def test_independent_run_through_the_training_notebook_and_report(tmp_path):
    papermill = pytest.importorskip("papermill")
    from pathlib import Path

    from mosaic_kit.reports import write_report

    nb = Path(__file__).resolve().parents[1] / "notebooks" / "01_train.ipynb"
    run = tmp_path / "run"
    over = {
        "backbone": "test_vit",
        "img_size": 32,
        "vol_size": 16,
        "bottleneck_a": 8,
        "bottleneck_b": 8,
        "bottleneck_c": 8,
        "rounds": 1,
        "steps_per_dataset": 2,
        "batch_size": 8,
        "eval_max_samples": 32,
        "method": "vpt",
        "vpt_prompts": 2,
        "independent": True,
        "datasets": ["breastmnist", "adrenalmnist3d"],
    }
    papermill.execute_notebook(
        str(nb),
        str(tmp_path / "out.ipynb"),
        parameters={"out": str(run), "overrides": over},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    assert (run / "figures" / "test_scores.png").is_file() and (
        run / "breastmnist" / "best.safetensors"
    ).is_file()
    md = write_report([run], tmp_path / "report")["md"].read_text()
    assert "| breastmnist |" in md and "| adrenalmnist3d |" in md and "trainable parameters" in md


def test_eval_refuses_a_checkpoint_of_another_method_or_preset(tmp_path):
    from mosaic_kit.evaluation.rescore import evaluate_run

    run = train(
        _cfg(tmp_path, "mos", rounds=1, steps_per_dataset=1, eval_max_samples=16), progress=False
    )
    with pytest.raises(ValueError, match="written by method 'mos', the config says 'lora'"):
        evaluate_run(run, overrides={"method": "lora"})
    with pytest.raises(
        ValueError,
        match=r"specialists\.B\.down\.bias has shape \(12,\) in the checkpoint but \(13,\) in "
        r"the model \(another preset\?\)",
    ):
        evaluate_run(run, overrides={"bottleneck_b": 13})


def test_active_parameters_are_exactly_the_ones_a_step_uses(tmp_path, method):
    """Under torchrun each dataset's DDP wrapper registers ``active_parameter_names``; a tensor
    listed but not used would make DDP wait forever, one used but not listed would not be
    averaged across ranks."""
    cfg = _cfg(tmp_path, method)
    model, _ = build_model(cfg)
    for name in DATASETS:
        model.zero_grad(set_to_none=True)
        is_3d = model.infos[name].is_3d
        x = (
            torch.randn(2, 1, cfg.vol_size, cfg.vol_size, cfg.vol_size)
            if is_3d
            else torch.randn(2, 3, 32, 32)
        )
        model(x, name).sum().backward()
        got = {n for n, p in model.named_parameters() if p.grad is not None}
        listed = {n for n, p in model.named_parameters() if p.requires_grad} & set(
            model.active_parameter_names(name)
        )
        assert got == listed, (name, sorted(got ^ listed)[:5])
