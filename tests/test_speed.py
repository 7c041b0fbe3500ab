"""Speed switches change speed, not results: each one on vs off gives the same outputs and
gradients, and a run trained with them resumes and evaluates like any other."""

import json

import pytest
import torch
from conftest import tiny_cfg

from mosaic_kit.methods import build_model
from mosaic_kit.models.speed import apply_speed
from mosaic_kit.train import train

DATASETS = ["pathmnist", "adrenalmnist3d"]


def _pair(tmp_path, **switches):
    cfg = tiny_cfg(tmp_path, datasets=DATASETS)
    a, _ = build_model(cfg)
    b, _ = build_model(cfg)
    for m in (a, b):  # non-zero adapters, so the specialists' paths are exercised
        with torch.no_grad():
            for n, p in m.named_parameters():
                if ".mos." in n:
                    p.normal_(0, 0.05, generator=torch.Generator().manual_seed(len(n)))
    apply_speed(b, **switches)
    return a, b


def _loss_and_grads(model, x, dataset):
    model.zero_grad(set_to_none=True)
    loss = model(x, dataset).square().mean()
    loss.backward()
    return loss.detach(), {
        n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None
    }


@pytest.mark.parametrize(
    "switches",
    [dict(grad_checkpointing=True), dict(channels_last=True), dict(fused_attn=False)],
    ids=["checkpointing", "channels-last", "unfused"],
)
def test_switch_keeps_outputs_and_gradients(tmp_path, switches):
    a, b = _pair(tmp_path, **switches)
    for dataset, x in (
        ("pathmnist", torch.randn(4, 3, 32, 32)),
        ("adrenalmnist3d", torch.randn(2, 1, 16, 16, 16)),
    ):
        la, ga = _loss_and_grads(a, x, dataset)
        lb, gb = _loss_and_grads(b, x, dataset)
        torch.testing.assert_close(lb, la, rtol=1e-5, atol=1e-6)
        assert ga.keys() == gb.keys() and len(ga) > 0
        for n in ga:
            torch.testing.assert_close(gb[n], ga[n], rtol=1e-4, atol=1e-6, msg=n)


def test_switches_are_set_where_they_act(tmp_path):
    _, b = _pair(tmp_path, fused_attn=False, channels_last=True, grad_checkpointing=True)
    assert all(blk.attn.fused_attn is False for blk in b.vit.blocks)
    assert b.vit.patch_embed.proj.weight.is_contiguous(memory_format=torch.channels_last)
    assert b.tokenizer_3d.proj.weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert b.grad_checkpointing


def test_compiled_blocks_match_eager(tmp_path):
    a, b = _pair(tmp_path, compile=True)
    x = torch.randn(4, 3, 32, 32)
    la, ga = _loss_and_grads(a, x, "pathmnist")
    lb, gb = _loss_and_grads(b, x, "pathmnist")
    torch.testing.assert_close(lb, la, rtol=1e-4, atol=1e-5)
    for n in ga:
        torch.testing.assert_close(gb[n], ga[n], rtol=1e-3, atol=1e-5, msg=n)
    # compiled in place: checkpoints keep their keys
    assert set(a.state_dict()) == set(b.state_dict())


def test_training_with_switches_and_no_read_ahead_gives_the_same_run(tmp_path):
    """Read-ahead threads and checkpointing leave the run bit-identical; only the wall time may
    differ."""
    runs = {}
    for label, kw in (
        ("plain", dict(loader_workers=0)),
        ("switched", dict(loader_workers=2, prefetch=3, grad_checkpointing=True)),
    ):
        run = train(tiny_cfg(tmp_path / label, rounds=1, **kw), progress=False)
        runs[label] = json.loads((run / "results.json").read_text())
    for name, r in runs["plain"]["datasets"].items():
        assert runs["switched"]["datasets"][name]["test"]["acc"] == pytest.approx(
            r["test"]["acc"], abs=1e-9
        )
        assert runs["switched"]["datasets"][name]["test"]["auc"] == pytest.approx(
            r["test"]["auc"], abs=1e-6
        )
