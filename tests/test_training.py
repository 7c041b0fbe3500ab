import json

import pytest
import torch
from conftest import tiny_cfg
from safetensors.torch import load_file

from mosaic_kit.evaluation.rescore import evaluate_run
from mosaic_kit.methods import build_model
from mosaic_kit.train import ExpertEMA, train
from mosaic_kit.train.optim import task_loss


def test_expert_aware_ema_moves_only_what_the_step_used(tmp_path):
    model, _ = build_model(tiny_cfg(tmp_path))
    ema = ExpertEMA(model)
    # frozen tensors are shared, trainable ones copied
    assert ema.model.vit.blocks[0].attn.qkv.weight is model.vit.blocks[0].attn.qkv.weight
    assert ema.model.heads["pathmnist"].weight is not model.heads["pathmnist"].weight
    before = {n: p.clone() for n, p in ema.model.named_parameters()}
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(1.0)
    ema.update("adrenalmnist3d", 0.95)
    active = set(model.active_parameter_names("adrenalmnist3d"))
    assert (
        any(n.startswith("tokenizer_3d.") for n in active)
        and "heads.adrenalmnist3d.weight" in active
    )
    student = dict(model.named_parameters())
    for n, p in ema.model.named_parameters():
        if n in active:  # t = m t + (1 - m) s
            torch.testing.assert_close(p, 0.95 * before[n] + 0.05 * student[n])
        else:
            assert torch.equal(p, before[n]), n


def test_losses_by_task():
    logits = torch.tensor([[2.0, -1.0], [0.0, 3.0]])
    y = torch.tensor([[0], [1]])
    torch.testing.assert_close(
        task_loss("breastmnist", logits, y), torch.nn.functional.cross_entropy(logits, y[:, 0])
    )
    ml = torch.randn(3, 14)
    yl = (torch.rand(3, 14) > 0.5).long()
    torch.testing.assert_close(
        task_loss("chestmnist", ml, yl),
        torch.nn.functional.binary_cross_entropy_with_logits(ml, yl.float()),
    )


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """A short cyclic run on the embedded suite that must clearly beat chance."""
    out = tmp_path_factory.mktemp("short")
    cfg = tiny_cfg(
        out,
        datasets=["pathmnist", "breastmnist", "chestmnist", "nodulemnist3d"],
        img_size=64,
        vol_size=32,
        rounds=6,
        steps_per_dataset=12,
        batch_size=32,
        lr=3e-3,
        warmup_steps=10,
        patience=10,
        bottleneck_a=16,
        bottleneck_b=16,
        bottleneck_c=16,
    )
    return train(cfg, progress=False)


def test_short_run_beats_chance(short_run):
    res = json.loads((short_run / "results.json").read_text())
    test = {n: r["test"] for n, r in res["datasets"].items()}
    assert test["pathmnist"]["acc"] > 0.6  # 9 classes: chance 0.11
    assert test["breastmnist"]["acc"] > 0.8  # binary: chance 0.5
    assert test["nodulemnist3d"]["auc"] > 0.7
    assert test["chestmnist"]["auc"] > 0.6  # multi-label
    assert res["mean"]["all"]["acc"] > 0.65
    assert set(res["mean"]) == {"all", "2d", "3d"} and set(res["teacher"]["mean"]) == {
        "all",
        "2d",
        "3d",
    }
    assert res["params"]["trainable"] < res["params"]["total"]


def test_run_directory_contents(short_run):
    names = {p.name for p in short_run.iterdir()}
    assert {
        "config.yaml",
        "metrics.jsonl",
        "best.safetensors",
        "last.safetensors",
        "last_state.pt",
        "results.json",
        "results.md",
        "environment.json",
    } <= names
    rows = [json.loads(line) for line in (short_run / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if r["kind"] == "step"]
    assert len(steps) == 6 * 4 * 12 and steps[-1]["step"] == len(steps)
    assert [r["round"] for r in rows if r["kind"] == "round"] == list(range(6))
    # warm-up then cosine: lr rises over the first 10 steps, then falls
    lrs = [r["lr"] for r in steps]
    assert lrs[0] < lrs[9] and lrs[-1] < lrs[20]
    # the checkpoint holds only trainable tensors (student and teacher)
    tensors = load_file(str(short_run / "best.safetensors"))
    assert all(k.startswith(("student/", "teacher/")) for k in tensors)
    assert all(".mos." in k or "heads." in k or "tokenizer_3d." in k for k in tensors)
    env = json.loads((short_run / "environment.json").read_text())
    assert {"torch", "timm", "medmnist", "mosaic_kit", "git_commit"} <= set(env)


def test_eval_reloads_checkpoint_and_reproduces_results(short_run):
    before = json.loads((short_run / "results.json").read_text())
    again = evaluate_run(short_run)
    for name, r in before["datasets"].items():
        for got, want in (
            (again["datasets"][name]["test"], r["test"]),
            (
                again["teacher"]["datasets"][name]["test"],
                before["teacher"]["datasets"][name]["test"],
            ),
        ):
            assert {k: got[k] for k in ("acc", "auc")} == pytest.approx(
                {k: want[k] for k in ("acc", "auc")}, abs=1e-6
            )
            assert got["ci95"] == want["ci95"]  # the seeded bootstrap interval is reproduced too


def test_per_sample_outputs_are_what_the_results_were_computed_from(short_run):
    """predictions.npz holds every val/test sample of student and teacher, of the reported and
    the last round's checkpoint; recomputing the metrics from it gives results.json exactly
    (multi-label ChestMNIST included)."""
    from mosaic_kit.data.registry import get_info
    from mosaic_kit.evaluation.metrics import compute_metrics
    from mosaic_kit.evaluation.outputs import load_outputs

    res = json.loads((short_run / "results.json").read_text())
    out = load_outputs(short_run)
    assert res["last"]["round"] == 5 and set(out) == {"best", "last"}
    for ckpt, scored in (("best", res), ("last", res["last"])):
        for net, r in (("student", scored), ("teacher", scored["teacher"])):
            for name, splits in r["datasets"].items():
                for split in ("val", "test"):
                    y, s = out[ckpt][net][name][split]
                    got = compute_metrics(get_info(name).task, y, s)
                    assert got == pytest.approx(
                        {k: splits[split][k] for k in ("acc", "auc")}, abs=1e-6
                    )
    if res["best_round"] != 5:  # another checkpoint: its outputs are its own
        assert any(
            not (out["best"]["student"][n]["val"][1] == out["last"]["student"][n]["val"][1]).all()
            for n in res["datasets"]
        )


def test_the_last_round_is_scored_apart_from_the_best(tmp_path):
    """With no learning the first round stays the best (later rounds only tie), so the last
    round's checkpoint is another file; it is loaded and scored on its own."""
    cfg = tiny_cfg(
        tmp_path,
        datasets=["breastmnist"],
        rounds=3,
        steps_per_dataset=2,
        lr=0.0,
        min_lr=0.0,
        patience=0,
    )
    res = json.loads((train(cfg, progress=False) / "results.json").read_text())
    assert res["best_round"] == 0 and res["last"]["round"] == 2
    # lr 0: the same weights, the same scores
    assert res["last"]["mean_val"]["all"] == pytest.approx(res["mean_val"]["all"])


def test_eval_refuses_a_different_backbone(short_run):
    with pytest.raises(ValueError, match="other frozen backbone weights"):
        evaluate_run(short_run, overrides={"seed": 7})


def test_exact_resume(tmp_path):
    """A run stopped after round 1 and resumed ends with the same tensors and per-step losses."""
    full = train(tiny_cfg(tmp_path / "a", rounds=3), progress=False)
    cfg = tiny_cfg(tmp_path / "b", rounds=3)
    train(cfg, progress=False, stop_after_rounds=1)
    assert not (tmp_path / "b" / "run" / "results.json").exists()
    resumed = train(cfg, resume=True, progress=False)
    a, b = load_file(str(full / "last.safetensors")), load_file(str(resumed / "last.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    rows = lambda d: [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    assert [r.get("loss") for r in rows(full)] == [r.get("loss") for r in rows(resumed)]


def test_same_seed_same_result(tmp_path):
    a = train(tiny_cfg(tmp_path / "a", rounds=1), progress=False)
    b = train(tiny_cfg(tmp_path / "b", rounds=1), progress=False)
    ta, tb = load_file(str(a / "last.safetensors")), load_file(str(b / "last.safetensors"))
    assert all(torch.equal(ta[k], tb[k]) for k in ta)


def test_existing_run_is_not_overwritten(tmp_path):
    cfg = tiny_cfg(tmp_path, rounds=1)
    train(cfg, progress=False)
    with pytest.raises(FileExistsError, match="--resume"):
        train(cfg, progress=False)


def test_resume_drops_log_rows_of_the_unfinished_round(tmp_path):
    cfg = tiny_cfg(tmp_path, rounds=2)
    run = train(cfg, progress=False, stop_after_rounds=1)
    log = run / "metrics.jsonl"
    # killed mid-round
    log.write_text(log.read_text() + '{"kind": "step", "step": 999, "round": 1, "loss": 0.0}\n')
    train(cfg, resume=True, progress=False)
    steps = [
        json.loads(line)["step"]
        for line in log.read_text().splitlines()
        if '"kind": "step"' in line
    ]
    assert steps == list(range(1, 2 * 3 * 3 + 1))


def test_train_state_round_trips_and_reads_older_checkpoints():
    from mosaic_kit.train import TrainState

    s = TrainState(
        round=3,
        step=40,
        round_step=4,
        best_acc=0.5,
        best_round=2,
        bad_rounds=1,
        bad_in_row=2,
        skipped_steps=3,
        wall_time_s=12.5,
    )
    t = TrainState()
    t.load_state_dict(s.state_dict())
    assert t == s
    old = {
        "round": 2,
        "step": 30,
        "best_acc": 0.4,
        "best_round": 1,
        "bad_rounds": 0,
        "wall_time_s": 9.0,
    }
    t = TrainState()
    # version 0.1 stored no round_step / bad_in_row / skipped_steps before they happened
    t.load_state_dict(old)
    assert (t.round, t.step, t.round_step, t.bad_in_row, t.skipped_steps) == (2, 30, 0, 0, 0)
    with pytest.raises(ValueError, match=r"unknown fields \['rounds_left'\]"):
        TrainState().load_state_dict({**old, "rounds_left": 1})


@pytest.mark.parametrize("method", ["mos", "full", "vpt"])
def test_weight_decay_follows_no_weight_decay(tmp_path, method):
    from mosaic_kit.train.optim import build_optimizer

    cfg = tiny_cfg(tmp_path, method=method, weight_decay=0.05)
    model, _ = build_model(cfg)
    decay, no_decay = build_optimizer(
        model, cfg
    ).param_groups  # [decay, no decay]: earlier runs' order
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (0.05, 0.0)
    names = {id(p): n for n, p in model.named_parameters()}
    exempt = {names[id(p)] for p in no_decay["params"]}
    assert "tokenizer_3d.pos_embed" in exempt and all(
        n.endswith(".bias") or p.ndim <= 1 or n in model.no_weight_decay()
        for n, p in model.named_parameters()
        if n in exempt
    )
    assert {names[id(p)] for p in decay["params"]} | exempt == {
        n for n, p in model.named_parameters() if p.requires_grad
    }
    if method == "full":
        assert {
            "vit.pos_embed",
            "vit.cls_token",
        } <= exempt and "vit.blocks.0.attn.qkv.weight" not in exempt
    if method == "vpt":
        assert "prompts.tokens" not in exempt  # prompts are decayed like any other matrix


def test_resume_removes_the_half_written_files_of_a_killed_run(tmp_path):
    cfg = tiny_cfg(tmp_path, datasets=["breastmnist"], rounds=2, steps_per_dataset=2)
    run = train(cfg, progress=False, stop_after_rounds=1)
    leftover = run / ".last_state.pt.tmp-4242"  # what a SIGKILL during a checkpoint write leaves
    leftover.write_bytes(b"half")
    train(cfg, resume=True, progress=False)
    assert not leftover.exists() and (run / "results.json").is_file()
