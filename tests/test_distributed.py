"""Distributed training: `torchrun --nproc_per_node 2` with gloo on CPU trains the same tensors
as one process over the same global batch, only rank 0 writes, and the pieces it rests on
(sharded augmentation, read-ahead that resumes exactly, sharded evaluation) behave."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import tiny_cfg

from mosaic_kit.data import BatchStream, Normalization, open_datasets, prepare_2d, prepare_3d
from mosaic_kit.data.loader import Loader
from mosaic_kit.utils.checkpoint import load_tensors
from mosaic_kit.utils.distributed import shard_range

ROOT = Path(__file__).resolve().parents[1]
NORM = Normalization((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def test_shard_ranges_tile_the_batch():
    for n in (1, 7, 8, 33):
        for world in (1, 2, 3, 4):
            parts = [shard_range(n, world, r) for r in range(world)]
            assert parts[0][0] == 0 and parts[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
            assert max(h - lo for lo, h in parts) - min(h - lo for lo, h in parts) <= 1


@pytest.mark.parametrize("is_3d", [False, True])
def test_sharded_augmentation_equals_the_slice_of_the_whole_batch(is_3d):
    x = torch.randint(0, 256, (7, 8, 8, 8) if is_3d else (7, 16, 16, 3), dtype=torch.uint8)
    prep = (
        (lambda t, **kw: prepare_3d(t, 8, NORM, augment=True, **kw))
        if is_3d
        else (lambda t, **kw: prepare_2d(t, 16, NORM, augment=True, **kw))
    )
    whole = prep(x, generator=torch.Generator().manual_seed(3))
    for lo, hi in (shard_range(7, 2, 0), shard_range(7, 2, 1)):
        part = prep(x[lo:hi], generator=torch.Generator().manual_seed(3), shard=(lo, 7))
        torch.testing.assert_close(part, whole[lo:hi], rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="do not fit"):
        prep(x, generator=torch.Generator(), shard=(3, 7))


def test_read_ahead_gives_the_synchronous_batches_and_checkpoints_what_was_consumed(tmp_path):
    cfg = tiny_cfg(tmp_path)
    data = open_datasets(cfg.data_root, cfg.datasets, cfg.size, cfg.size_3d)

    def streams():
        return {n: BatchStream(data[n]["train"], 8, seed=1) for n in cfg.datasets}

    plan = ["pathmnist"] * 5 + ["adrenalmnist3d"] * 3 + ["breastmnist"] * 4
    sync = streams()
    expected = [(n, *sync[n].next_batch()) for n in plan]
    loader = Loader(streams(), workers=2, depth=4)
    got = []
    for item in loader.iterate(plan):
        got.append(item)
        if (
            len(got) == 6
        ):  # stop mid-plan with batches read ahead: the checkpoint must not count them
            break
    states = loader.stream_states()
    assert (
        states["pathmnist"] == {"epoch": 0, "position": 40}
        and states["adrenalmnist3d"]["position"] == 8
    )
    assert states["breastmnist"]["position"] == 0
    resumed = streams()
    for n, s in states.items():
        resumed[n].load_state_dict(s)
    rest = Loader(resumed, workers=1, depth=3)
    got += list(rest.iterate(plan[6:]))
    loader.close()
    rest.close()
    assert [g[0] for g in got] == plan
    for (n, xe, ye), (_, xg, yg) in zip(expected, got):
        assert torch.equal(xe, xg) and torch.equal(ye, yg), n
    with pytest.raises(ValueError, match="workers"):
        Loader(streams(), workers=-1)


def _train(cfg_file: Path, out: Path, procs: int, *extra: str) -> None:
    launcher = (
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}"]
        if procs > 1
        else [sys.executable]
    )
    cmd = launcher + [
        "-m",
        "mosaic_kit",
        "train",
        "--config",
        str(cfg_file),
        "--out",
        str(out),
        *extra,
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


@pytest.mark.parametrize("batch_size", [8, 7], ids=["even-shards", "uneven-shards"])
def test_torchrun_two_ranks_match_one_process(tmp_path, batch_size):
    cfg = tiny_cfg(
        tmp_path,
        rounds=2,
        steps_per_dataset=3,
        batch_size=batch_size,
        threads=1,
        method="mos",
        consistency_weight=0.1,
        augment=True,
    )
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text(yaml.safe_dump({k: v for k, v in cfg.to_dict().items() if k != "out"}))
    _train(cfg_file, tmp_path / "one", 1)
    _train(cfg_file, tmp_path / "two", 2)
    one, _ = load_tensors(tmp_path / "one" / "last.safetensors")
    two, meta = load_tensors(tmp_path / "two" / "last.safetensors")
    assert int(meta["step"]) == 2 * 3 * 3
    for group in ("student", "teacher"):
        assert one[group].keys() == two[group].keys()
        for k in one[group]:
            # The two runs sum gradients in another order; AdamW divides by sqrt(v), so an element
            # whose gradient is near zero can move by up to ~lr per step on one side only (measured
            # on a 2-core CPU: one of 32,768 Conv3d weights 6.0e-5 apart after 18 steps, the rest
            # below 1.6e-5). Hence a bound of 1e-4 per element and a far tighter one on the mean.
            diff = (two[group][k] - one[group][k]).abs()
            assert float(diff.max()) < 1e-4 + 1e-4 * float(one[group][k].abs().max()), (
                group,
                k,
                float(diff.max()),
            )
            assert float(diff.mean()) < 1e-6, (group, k, float(diff.mean()))
    moved = sum(float((one["student"][k] - one["teacher"][k]).abs().sum()) for k in one["student"])
    assert moved > 0  # the comparison is not between two untouched initialisations
    # only rank 0 logged: one row per step and round, no duplicates; the losses are the global
    # batch's
    rows = {
        d: [json.loads(x) for x in (tmp_path / d / "metrics.jsonl").read_text().splitlines()]
        for d in ("one", "two")
    }
    assert len(rows["two"]) == len(rows["one"]) == 2 * 3 * 3 + 2
    steps = [(a, b) for a, b in zip(rows["one"], rows["two"]) if a["kind"] == "step"]
    assert max(abs(a["loss"] - b["loss"]) for a, b in steps) < 1e-4
    # evaluation is sharded across the ranks and gathered: the same scores as one process
    r1, r2 = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("one", "two"))
    for name in cfg.datasets:
        for split in ("val", "test"):
            for metric in ("acc", "auc"):
                assert r2["datasets"][name][split][metric] == pytest.approx(
                    r1["datasets"][name][split][metric], abs=1e-6 if metric == "acc" else 2e-3
                )


def test_global_batch_smaller_than_the_world_is_refused(tmp_path):
    cfg = tiny_cfg(tmp_path, batch_size=1, threads=1)
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text(yaml.safe_dump({k: v for k, v in cfg.to_dict().items() if k != "out"}))
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "mosaic_kit",
        "train",
        "--config",
        str(cfg_file),
        "--out",
        str(tmp_path / "run"),
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "batch_size (1) is the global batch" in done.stdout + done.stderr
    assert not np.any([p.name.endswith(".safetensors") for p in (tmp_path / "run").glob("*")])


def _worker_pid(launcher: subprocess.Popen, rank: int) -> int:
    """PID of the torchrun worker with RANK=rank (a child of the launcher)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if (
            int(stat.rsplit(")", 1)[1].split()[1]) == launcher.pid
            and f"RANK={rank}".encode() in env
        ):
            return int(pid)
    raise AssertionError(f"no worker with RANK={rank} under torchrun pid {launcher.pid}")


def test_a_stop_signal_on_one_rank_stops_all_at_the_same_step_and_resumes(tmp_path):
    cfg = tiny_cfg(
        tmp_path, rounds=2, steps_per_dataset=60, batch_size=16, threads=1, eval_max_samples=32
    )
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text(yaml.safe_dump({k: v for k, v in cfg.to_dict().items() if k != "out"}))
    _train(cfg_file, tmp_path / "whole", 2)
    out = tmp_path / "cut"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "mosaic_kit",
        "train",
        "--config",
        str(cfg_file),
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.time() + 240
    while (
        not (out / "metrics.jsonl").exists()
        or len((out / "metrics.jsonl").read_text().splitlines()) < 20
    ):
        assert proc.poll() is None and time.time() < deadline, (
            "training ended before it could be interrupted"
        )
        time.sleep(0.2)
    # rank 1 only; rank 0 must stop at the same step and save
    os.kill(_worker_pid(proc, 1), signal.SIGTERM)
    log, _ = proc.communicate(timeout=240)
    assert proc.returncode != 0
    assert "SIGTERM received" in log or "a stop on another rank received" in log, log[-3000:]
    _, meta = load_tensors(out / "last.safetensors")
    assert 20 <= int(meta["step"]) < 2 * 3 * 60 and not (out / "results.json").exists()
    done = subprocess.run(
        cmd[:-4] + ["--resume", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    whole, _ = load_tensors(tmp_path / "whole" / "last.safetensors")
    cut, _ = load_tensors(out / "last.safetensors")
    for group in ("student", "teacher"):
        for k in whole[group]:
            torch.testing.assert_close(
                cut[group][k], whole[group][k], rtol=1e-4, atol=1e-5, msg=f"{group} {k}"
            )
