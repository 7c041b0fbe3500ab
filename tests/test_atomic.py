"""Atomic writes: a writer killed at any moment leaves the old file or the new one, never a torn
one; a full disk stops training with one message and keeps the previous checkpoint."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import tiny_cfg

import mosaic_kit.utils.atomic as atomic
from mosaic_kit.train import train
from mosaic_kit.utils.checkpoint import load_tensors

WRITER = """
import sys
from mosaic_kit.utils.atomic import atomic_write_bytes
path, n = sys.argv[1], 4_000_000
i = 0
while True:
    atomic_write_bytes(path, bytes([65 + i % 2]) * n)  # 4 MB of 'A', then of 'B', ...
    i += 1
    print(i, flush=True)
"""


def test_killed_writer_never_leaves_a_torn_file(tmp_path):
    target = tmp_path / "ckpt.bin"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    for trial in range(6):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(target)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(
            trial + 1
        ):  # let it finish a few writes, then kill it somewhere in the next one
            proc.stdout.readline()
        time.sleep(0.003 * trial)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = target.read_bytes()
        assert len(data) == 4_000_000 and data in (b"A" * 4_000_000, b"B" * 4_000_000), (
            f"torn file in trial {trial}"
        )


@pytest.mark.parametrize(
    "code, text", [(errno.ENOSPC, "No space left on device"), (errno.EACCES, "Permission denied")]
)
def test_write_errors_stop_training_and_keep_checkpoint(tmp_path, monkeypatch, code, text):
    calls = {"n": 0}
    real_fsync = os.fsync

    def fsync(fd):
        calls["n"] += 1
        if (
            calls["n"] > 6
        ):  # round 1 writes best, last_state, last (+ directory syncs); then the disk is full
            raise OSError(code, text)
        return real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    with pytest.raises(
        atomic.WriteError,
        match=rf"{text} \[{errno.errorcode[code]}\]\. The previous version.*Resume with `train "
        "--resume",
    ):
        train(tiny_cfg(tmp_path, rounds=3), progress=False)
    run = tmp_path / "run"
    groups, meta = load_tensors(run / "last.safetensors")
    assert int(meta["round"]) >= 1 and all(
        torch.isfinite(t).all() for t in groups["student"].values()
    )
    # no temporary files left behind
    assert not [p.name for p in run.iterdir() if ".tmp-" in p.name]


def test_cli_reports_write_errors_in_one_line(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        json.dumps(
            {
                "backbone": "test_vit",
                "img_size": 32,
                "vol_size": 16,
                "rounds": 1,
                "steps_per_dataset": 1,
                "datasets": ["breastmnist"],
                "batch_size": 4,
            }
        )
    )
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mosaic_kit",
            "train",
            "--config",
            str(cfg),
            "--out",
            str(blocker / "run"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
