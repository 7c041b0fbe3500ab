"""GMoE-Adapter over two frozen backbones (method=gmoe): each expert runs on its own weights
file, only the adapters, the gate, the heads and the 3D tokenizers train, and the gate mixes the
experts per sample."""

import json
from pathlib import Path

import pytest
import torch
from conftest import need, tiny_cfg
from safetensors.torch import save_file

from mosaic_kit.methods import build_model, parameter_report
from mosaic_kit.models.backbone import create_backbone

DEIT = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "weights"
    / "deit_tiny_patch16_224.int8fq.safetensors"
)


def _deit_cfg(tmp_path, general, medical, **kw):
    base = dict(
        backbone="deit_tiny_patch16_224",
        weights=str(general),
        gmoe_medical_weights=str(medical),
        method="gmoe",
        img_size=32,
        vol_size=16,
        gmoe_bottleneck=8,
        datasets=["pneumoniamnist", "adrenalmnist3d"],
    )
    return tiny_cfg(tmp_path, **{**base, **kw})


@pytest.fixture(scope="module")
def two_files(tmp_path_factory):
    """The real ImageNet DeiT-Tiny, and a second DeiT-Tiny file in timm's layout (random init,
    seed 7)."""
    real = need(DEIT)
    other = tmp_path_factory.mktemp("weights") / "deit_tiny_other.safetensors"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        save_file(create_backbone("deit_tiny_patch16_224", None, 224).state_dict(), str(other))
    return real, other


def test_each_expert_runs_on_its_own_weights_file(tmp_path, two_files):
    real, other = two_files
    model, _ = build_model(_deit_cfg(tmp_path, real, other))
    swapped, _ = build_model(_deit_cfg(tmp_path, other, real))
    for a, b in ((model.vit, swapped.medical.vit), (model.medical.vit, swapped.vit)):
        torch.testing.assert_close(a.blocks[3].attn.qkv.weight, b.blocks[3].attn.qkv.weight)
    assert not torch.equal(
        model.vit.blocks[3].attn.qkv.weight, model.medical.vit.blocks[3].attn.qkv.weight
    )
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        g, m = model.eval().encode_experts(x, "gmoe", False)
        g2, m2 = swapped.eval().encode_experts(x, "gmoe", False)
        torch.testing.assert_close(g, m2)  # swapping the files swaps what the experts see
        torch.testing.assert_close(m, g2)
        assert not torch.allclose(g, m, atol=1e-3)
        # zero-initialised gate: an even mix; a gate that prefers the general expert moves the
        # features there
        torch.testing.assert_close(
            model.forward_features(x, "pneumoniamnist"), 0.5 * (g[:, 0] + m[:, 0])
        )
        model.gate.proj.bias.copy_(torch.tensor([20.0, -20.0]))
        torch.testing.assert_close(
            model.forward_features(x, "pneumoniamnist"), g[:, 0], atol=1e-5, rtol=1e-5
        )
        assert model.gate.mixing_weights.shape == (2, 2)


def test_only_adapters_gate_heads_and_tokenizers_train(tmp_path, two_files):
    model, _ = build_model(_deit_cfg(tmp_path, *two_files))
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    allowed = ("heads.", "tokenizer_3d.", "medical.tokenizer_3d.", "gate.")
    assert all(n.startswith(allowed) or ".expert." in n for n in trained)
    assert any(n.startswith("medical.vit.blocks.11.expert.") for n in trained)
    assert any(n.startswith("vit.blocks.11.expert.") for n in trained)
    assert {
        "medical.tokenizer_3d.proj.weight",
        "tokenizer_3d.proj.weight",
        "gate.proj.weight",
    } <= trained
    report = parameter_report(model)["components"]
    assert report["backbone_medical"]["trainable"] == 0 and report["backbone"]["trainable"] == 0
    assert (
        report["backbone_medical"]["total"]
        == report["backbone"]["total"] + report["tokenizer_2d"]["total"]
    )
    assert (
        report["expert_general"]["trainable"]
        == report["expert_medical"]["trainable"]
        == 12 * (2 * 192 * 8 + 8 + 192)
    )
    assert report["router"]["trainable"] == 2 * 2 * 192 + 2
    # a step moves adapters of both backbones and the gate, never a frozen tensor; volumes use both
    # 3D tokenizers
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        (
            model(torch.randn(3, 3, 32, 32), "pneumoniamnist").logsumexp(-1).sum()
            + model(torch.randn(3, 1, 16, 16, 16), "adrenalmnist3d").logsumexp(-1).sum()
        ).backward()
        opt.step()
    params = dict(model.named_parameters())
    assert all(torch.equal(params[n], t) for n, t in frozen.items())
    for name in (
        "vit.blocks.0.expert.up.weight",
        "medical.vit.blocks.0.expert.up.weight",
        "gate.proj.weight",
        "medical.tokenizer_3d.proj.weight",
        "tokenizer_3d.proj.weight",
    ):
        assert params[name].abs().sum() > 0 and params[name].grad is not None, name


def test_errors_name_the_fix(tmp_path, two_files):
    real, _ = two_files
    with pytest.raises(ValueError, match="set gmoe_medical_weights .* or use method=gmoe-shared"):
        build_model(_deit_cfg(tmp_path, real, "", gmoe_medical_weights=None))
    narrow = tmp_path / "test_vit.safetensors"
    save_file(create_backbone("test_vit", None, 32).state_dict(), str(narrow))
    with pytest.raises(ValueError, match="same width: 192 vs 64"):
        build_model(_deit_cfg(tmp_path, real, narrow, gmoe_medical_backbone="test_vit"))
    with pytest.raises(ValueError, match="gmoe_init_general/gmoe_init_medical start gmoe-shared"):
        build_model(_deit_cfg(tmp_path, real, real, gmoe_init_general=str(narrow)))
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        build_model(_deit_cfg(tmp_path, real, tmp_path / "nope.safetensors"))


def test_a_short_run_reports_gate_weights_and_reloads(tmp_path, two_files):
    from mosaic_kit.evaluation.rescore import evaluate_run
    from mosaic_kit.train import train

    cfg = _deit_cfg(tmp_path, *two_files, rounds=1, steps_per_dataset=2, eval_max_samples=16)
    run = train(cfg, progress=False)
    res = json.loads((run / "results.json").read_text())
    for name in ("pneumoniamnist", "adrenalmnist3d"):
        gate = res["mixing_weights"][name]
        assert set(gate) == {"general", "medical"} and sum(gate.values()) == pytest.approx(
            1.0, abs=1e-3
        )
    assert res["params"]["components"]["expert_medical"]["trainable"] > 0
    again = json.loads(json.dumps(evaluate_run(run, output="again")["datasets"]))
    assert again == json.loads(json.dumps(res["datasets"]))


def test_the_readme_recipe_turns_a_full_run_into_a_medical_backbone(tmp_path):
    """A method=full run's backbone, saved as the README shows, is a timm-layout file gmoe loads
    as its expert."""
    from mosaic_kit.evaluation.runs import load_run
    from mosaic_kit.train import train

    run = train(
        tiny_cfg(
            tmp_path / "full",
            method="full",
            rounds=1,
            steps_per_dataset=2,
            eval_max_samples=8,
            datasets=["pathmnist"],
            lr=1e-2,
        ),
        progress=False,
    )
    vit = load_run(run).model.vit
    save_file(
        {k: v.contiguous() for k, v in vit.state_dict().items()},
        str(tmp_path / "medical_vit.safetensors"),
    )
    model, _ = build_model(
        tiny_cfg(
            tmp_path,
            method="gmoe",
            datasets=["pathmnist"],
            gmoe_medical_weights=str(tmp_path / "medical_vit.safetensors"),
        )
    )
    torch.testing.assert_close(
        model.medical.vit.blocks[2].mlp.fc1.weight, vit.blocks[2].mlp.fc1.weight
    )
    # fine-tuned: moved
    assert not torch.equal(model.vit.blocks[2].mlp.fc1.weight, vit.blocks[2].mlp.fc1.weight)
