import pytest
import timm
import torch
from conftest import DEIT_TINY, need, tiny_cfg
from google_npz import save_google_npz
from safetensors.torch import save_file

from mosaic_kit.config import load_config
from mosaic_kit.methods import build_model, parameter_report
from mosaic_kit.models import create_backbone
from mosaic_kit.models.adapter import MixtureOfSpecialists


def test_paper_parameter_count():
    report = parameter_report(build_model(load_config("paper"))[0])
    assert report["trainable"] == 7_395_570
    assert 92_000_000 < report["total"] < 94_000_000
    c = report["components"]
    assert (
        c["adapter_A"]["trainable"] + c["adapter_B"]["trainable"] + c["adapter_C"]["trainable"]
        == 6_519_936
    )
    assert c["tokenizer_3d"]["trainable"] == 393_984 * 2
    assert c["heads"]["trainable"] == 87_666
    assert c["backbone"]["trainable"] == 0 and c["tokenizer_2d"]["trainable"] == 0


def test_only_the_routed_specialist_gets_gradients(tmp_path):
    model, _ = build_model(tiny_cfg(tmp_path))
    with torch.no_grad():  # leave zero-init so every specialist could get a gradient if it ran
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.01)
    for dataset, spec, x in (
        ("pathmnist", "A", torch.randn(4, 3, 32, 32)),
        ("breastmnist", "B", torch.randn(4, 3, 32, 32)),
        ("adrenalmnist3d", "C", torch.randn(4, 1, 16, 16, 16)),
    ):
        model.zero_grad(set_to_none=True)
        model(x, dataset).sum().backward()
        got = {
            n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0
        }
        assert got == set(model.active_parameter_names(dataset))
        assert all(f"specialists.{spec}." in n for n in got if ".mos." in n)
        assert any(f"specialists.{spec}." in n for n in got)
        assert all(p.grad is None for n, p in model.named_parameters() if not p.requires_grad)


def test_mixed_batch_is_grouped_not_masked(tmp_path, monkeypatch):
    model, _ = build_model(
        tiny_cfg(tmp_path, datasets=["pathmnist", "dermamnist", "breastmnist", "adrenalmnist3d"])
    )
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    calls = []
    for spec, module in model.vit.blocks[0].mos.specialists.items():
        module.register_forward_hook(lambda m, i, o, s=spec: calls.append((s, i[0].shape[0])))
    inputs = {
        "pathmnist": torch.randn(3, 3, 32, 32),
        "dermamnist": torch.randn(2, 3, 32, 32),
        "breastmnist": torch.randn(4, 3, 32, 32),
        "adrenalmnist3d": torch.randn(2, 1, 16, 16, 16),
    }
    out = model.forward_grouped(inputs)
    # one pass per specialist, A's two datasets together
    assert sorted(calls) == [
        ("A", 5),
        ("B", 4),
        ("C", 2),
    ]
    for name, x in inputs.items():
        torch.testing.assert_close(out[name], model(x, name), rtol=1e-4, atol=1e-5)


def test_zero_init_equals_frozen_backbone(tmp_path):
    cfg = tiny_cfg(tmp_path)
    model, _ = build_model(cfg)
    ref = create_backbone(cfg.backbone, None, cfg.img_size)
    ref.load_state_dict(
        {
            k[4:]: v
            for k, v in model.state_dict().items()
            if k.startswith("vit.") and ".mos." not in k
        }
    )
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(
        model.forward_features(x, "breastmnist"), ref.forward_features(x)[:, 0]
    )
    v = torch.randn(2, 1, 16, 16, 16)
    torch.testing.assert_close(
        model.forward_features(v, "adrenalmnist3d"), model.encode(v, None, True)[:, 0]
    )


@pytest.mark.parametrize("adapter_input", ["residual", "norm"])
def test_adapter_reads_the_chosen_input(tmp_path, adapter_input):
    model, _ = build_model(tiny_cfg(tmp_path, adapter_input=adapter_input))
    blk = model.vit.blocks[0]
    seen = []
    blk.mos.specialists["B"].register_forward_hook(lambda m, i, o: seen.append(i[0]))
    captured = {}
    blk.norm2.register_forward_hook(lambda m, i, o: captured.update(inp=i[0], out=o))
    blk(torch.randn(2, 5, model.embed_dim), "B")
    torch.testing.assert_close(seen[0], captured["inp" if adapter_input == "residual" else "out"])


def test_mos_module_runs_only_named_specialist():
    mos = MixtureOfSpecialists(16, {"A": 4, "B": 8})
    assert mos.specialists["A"].down.out_features == 4
    assert torch.count_nonzero(mos(torch.randn(2, 16), "B")) == 0  # zero-init up projection


def test_safetensors_weights_real_deit_tiny():
    path = need(DEIT_TINY)
    ours = create_backbone("deit_tiny_patch16_224", path, 224)
    ref = timm.create_model("deit_tiny_patch16_224", checkpoint_path=str(path))
    x = torch.randn(1, 3, 224, 224)
    torch.testing.assert_close(ours.forward_features(x), ref.forward_features(x))
    assert not any(p.requires_grad for p in ours.parameters())


def test_weights_at_another_resolution_resample_pos_embed(tmp_path):
    src = timm.create_model("test_vit", num_classes=5)
    path = tmp_path / "w.safetensors"
    save_file(src.state_dict(), str(path))
    vit = create_backbone("test_vit", path, img_size=64)
    assert vit.pos_embed.shape[1] == 1 + 16
    torch.testing.assert_close(vit.blocks[2].mlp.fc1.weight, src.blocks[2].mlp.fc1.weight)


def test_google_layout_npz(tmp_path):
    src = timm.create_model("test_vit", num_classes=0)
    with torch.no_grad():
        for p in src.parameters():
            p.normal_()
    path = tmp_path / "ViT-test.npz"
    save_google_npz(src, path)
    vit = create_backbone("test_vit", path, img_size=src.patch_embed.img_size[0])
    for (name, a), b in zip(src.state_dict().items(), vit.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_weights_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        create_backbone("test_vit", tmp_path / "missing.safetensors")
    wrong = tmp_path / "other.safetensors"
    save_file(timm.create_model("vit_tiny_patch16_224", num_classes=0).state_dict(), str(wrong))
    with pytest.raises(
        ValueError,
        match=r"does not fit backbone 'test_vit' \(64-wide ViT with 6 blocks\): the file "
        r"looks like a 192-wide ViT with 12 blocks\. 78 tensors disagree, e\.g\. "
        r"blocks\.0\.attn\.proj\.bias \(192,\) in the file vs \(64,\) in the model",
    ):
        create_backbone("test_vit", wrong)
    # same width, other block type (LayerScale) and depth
    other = tmp_path / "layerscale.safetensors"
    save_file(timm.create_model("test_vit2", num_classes=0).state_dict(), str(other))
    with pytest.raises(
        ValueError,
        match=r"missing from the file, e\.g\. cls_token.* unexpected tensors in the file, "
        r"e\.g\. blocks\.0\.ls1\.gamma.*Set `backbone`",
    ):
        create_backbone("test_vit", other)
    with pytest.raises(ValueError, match="not a plain timm VisionTransformer"):
        create_backbone("resnet18")


def test_google_npz_for_another_model_is_named(tmp_path):
    path = tmp_path / "ViT-Ti_16.npz"
    save_google_npz(timm.create_model("vit_tiny_patch16_224", num_classes=0), path)
    with pytest.raises(
        ValueError,
        match=r"Google npz layout\) does not fit backbone 'test_vit' \(64-wide ViT with 6 "
        r"blocks\): the file is a 192-wide ViT with 12 blocks\. Set `backbone`",
    ):
        create_backbone("test_vit", path)
