"""Non-finite losses or gradients: the step is skipped and counted; too many in a row stop the
run with a clear message, and the last good checkpoint stays intact."""

import json

import pytest
import torch
from conftest import tiny_cfg

import mosaic_kit.train.step as step_mod
from mosaic_kit.train import NonFiniteError, train
from mosaic_kit.utils.checkpoint import load_state, load_tensors


def _poison(monkeypatch, bad_steps):
    """Make the task loss NaN on the given (1-based) step numbers."""
    real, calls = step_mod.task_loss, {"n": 0}

    def task_loss(dataset, logits, y, weight=None):
        calls["n"] += 1
        loss = real(dataset, logits, y, weight)
        return loss * float("nan") if calls["n"] in bad_steps else loss

    monkeypatch.setattr(step_mod, "task_loss", task_loss)


def test_isolated_nan_steps_are_skipped_and_counted(tmp_path, monkeypatch):
    _poison(monkeypatch, {4, 5})
    run = train(tiny_cfg(tmp_path, max_bad_steps=3), progress=False)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["kind"] == "skip"] == [4, 5]
    state = load_state(run / "last_state.pt")["state"]
    assert state["skipped_steps"] == 2 and state["bad_in_row"] == 0
    res = json.loads((run / "results.json").read_text())
    assert all(torch.isfinite(torch.tensor(v["test"]["acc"])) for v in res["datasets"].values())
    groups, _ = load_tensors(run / "last.safetensors")
    assert all(torch.isfinite(t).all() for t in groups["student"].values())


def test_nan_streak_stops_with_message_and_keeps_checkpoint(tmp_path, monkeypatch):
    cfg = tiny_cfg(tmp_path, max_bad_steps=3)  # 3 datasets x 3 steps = 9 steps per round
    _poison(monkeypatch, set(range(12, 100)))
    with pytest.raises(NonFiniteError, match=r"3 steps in a row .* after round 1\) is intact"):
        train(cfg, progress=False)
    groups, meta = load_tensors(tmp_path / "run" / "last.safetensors")
    assert int(meta["round"]) == 1 and all(
        torch.isfinite(t).all() for t in groups["student"].values()
    )
    assert not (tmp_path / "run" / "results.json").exists()


def test_nan_before_any_checkpoint_says_so(tmp_path, monkeypatch):
    _poison(monkeypatch, set(range(1, 100)))
    with pytest.raises(NonFiniteError, match="no checkpoint"):
        train(tiny_cfg(tmp_path, max_bad_steps=2), progress=False)


def test_a_run_whose_every_step_was_skipped_fails_and_writes_no_results(tmp_path, monkeypatch):
    # max_bad_steps above the run's length: no streak stops it, yet nothing ever trained
    _poison(monkeypatch, set(range(1, 1000)))
    cfg = tiny_cfg(tmp_path, max_bad_steps=1000)
    with pytest.raises(NonFiniteError, match=r"every one of the \d+ steps .* never trained"):
        train(cfg, progress=False)
    assert not (tmp_path / "run" / "results.json").exists() and not any(
        tmp_path.rglob("results.json")
    )
