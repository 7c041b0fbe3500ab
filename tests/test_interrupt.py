"""Nothing lost: SIGINT writes a mid-round checkpoint, SIGKILL loses at most the unfinished
round, and either way `train --resume` ends with the same trainable tensors and metrics as an
uninterrupted run (bit-identical on CPU)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from conftest import tiny_cfg

import mosaic_kit.train.step as step_mod
from mosaic_kit.train import TrainingInterrupted, train
from mosaic_kit.utils.checkpoint import load_state, load_tensors

ROOT = Path(__file__).resolve().parents[1]


def _cfg(out, **kw):
    return tiny_cfg(out, rounds=3, steps_per_dataset=4, threads=2, **kw)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run every interrupted one must reproduce."""
    return train(_cfg(tmp_path_factory.mktemp("ref")), progress=False)


def _same_run(a: Path, b: Path) -> None:
    ga, _ = load_tensors(a / "last.safetensors")
    gb, _ = load_tensors(b / "last.safetensors")
    for group in ("student", "teacher"):
        assert ga[group].keys() == gb[group].keys()
        for k in ga[group]:
            assert torch.equal(ga[group][k], gb[group][k]), (group, k)
    ra, rb = (json.loads((d / "results.json").read_text()) for d in (a, b))
    assert (
        ra["datasets"] == rb["datasets"] and ra["teacher"]["datasets"] == rb["teacher"]["datasets"]
    )

    def steps(d):
        rows = map(json.loads, (d / "metrics.jsonl").read_text().splitlines())
        return [(r["step"], r["dataset"], r["loss"]) for r in rows if r["kind"] == "step"]

    assert steps(a) == steps(b)


def test_sigint_mid_round_checkpoints_and_resumes_exactly(tmp_path, monkeypatch, reference):
    real, calls = step_mod.task_loss, {"n": 0}

    def task_loss(*args):
        calls["n"] += 1
        if calls["n"] == 14:  # 3 datasets x 4 steps = 12 per round: step 14 is mid-round 2
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args)

    monkeypatch.setattr(step_mod, "task_loss", task_loss)
    cfg = _cfg(tmp_path)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted, match="checkpoint written at step 14"):
        train(cfg, progress=False)
    st = load_state(tmp_path / "run" / "last_state.pt")["state"]
    assert (st["step"], st["round"], st["round_step"]) == (14, 1, 2)
    monkeypatch.setattr(step_mod, "task_loss", real)
    assert signal.getsignal(signal.SIGINT) == before  # our handler is removed again
    train(cfg, resume=True, progress=False)
    _same_run(reference, tmp_path / "run")


def _spawn(cfg_file: Path, extra=()) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mosaic_kit", "train", "--config", str(cfg_file), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_for(path: Path, predicate, proc: subprocess.Popen, timeout: float = 240) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if path.exists() and predicate(path.read_text()):
            return
        if proc.poll() is not None:
            pytest.fail(f"training exited early: {proc.stderr.read()[-2000:]}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {path}")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_subprocess_resumes_exactly(tmp_path, reference, sig):
    cfg = _cfg(tmp_path)
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg.to_dict()))
    proc = _spawn(cfg_file)
    log = tmp_path / "run" / "metrics.jsonl"
    # kill during round 2, after round 1's checkpoint exists
    _wait_for(
        log,
        lambda text: any(
            json.loads(line).get("kind") == "step" and json.loads(line)["step"] >= 15
            for line in text.splitlines()[-3:]
            if line
        ),
        proc,
    )
    proc.send_signal(sig)
    proc.wait(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "checkpoint written at step" in proc.stderr.read()
    else:
        assert proc.returncode == -signal.SIGKILL
    st = load_state(tmp_path / "run" / "last_state.pt")["state"]
    assert st["round"] >= 1
    resumed = _spawn(cfg_file, ["--resume", str(tmp_path / "run")])
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()[-2000:]
    _same_run(reference, tmp_path / "run")
