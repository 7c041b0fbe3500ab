"""Every command that writes goes through one writer (``mosaic_kit.utils.atomic``): a full or
read-only drive, or a file where a folder is expected, ends in one message naming the target (never
a hidden temporary path) with nothing half-written left and the previous file unchanged; a writer
killed mid-way leaves hidden parts that the next write of the same target removes."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import tiny_cfg
from PIL import Image

import mosaic_kit.utils.atomic as atomic
from mosaic_kit.cli import main
from mosaic_kit.train import train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("writers")
    torch.manual_seed(0)
    return train(
        tiny_cfg(tmp, datasets=["breastmnist"], rounds=1, steps_per_dataset=2, eval_max_samples=32),
        progress=False,
    )


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("inputs") / "case.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)).save(path)
    return path


class _FullDisk(io.FileIO):
    """A file on a drive that fills up after the first few bytes."""

    def write(self, data):
        super().write(bytes(data)[:7])
        raise OSError(errno.ENOSPC, "No space left on device")


def _read_only(path):
    raise OSError(errno.EROFS, "Read-only file system", str(path))


def _commands(run, image, out):
    return {
        "bundle": ["bundle", str(run), "--out", str(out / "bundle")],
        "export": ["export", str(run), "--dataset", "breastmnist", "--format", "torchscript"]
        + ["--out", str(out / "model.pt")],
        "predict --attention": ["predict", str(run), str(image), "--dataset", "breastmnist"]
        + ["--attention", str(out / "overlays")],
        "predict --csv": ["predict", str(run), str(image), "--dataset", "breastmnist"]
        + ["--csv", str(out / "predictions.csv")],
        "table": ["table", str(run), "--out", str(out / "table")],
    }


@pytest.mark.parametrize(
    "fault, reason, fix",
    [
        (lambda p: _FullDisk(p, "wb"), "No space left on device [ENOSPC]", "Free disk space"),
        (_read_only, "Read-only file system [EROFS]", "cannot be written by this user"),
    ],
    ids=["full drive", "read-only drive"],
)
def test_a_failing_drive_is_one_message_and_leaves_nothing(
    run, image, tmp_path, monkeypatch, capsys, fault, reason, fix
):
    monkeypatch.setattr(atomic, "_open_for_write", fault)
    for name, argv in _commands(run, image, tmp_path).items():
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 2, (name, err)
        assert "could not write" in err and reason in err and fix in err, (name, err)
        assert ".part-" not in err and ".tmp-" not in err and "Traceback" not in err, (name, err)
        left = [p.name for p in tmp_path.rglob("*") if p.name.startswith(".") or p.is_file()]
        assert not left, (name, left)  # no half-written file, no hidden temporary
    assert not [p.name for p in run.rglob("*") if ".tmp-" in p.name or ".part" in p.name]


def test_a_failing_drive_keeps_the_previous_file(run, image, tmp_path, monkeypatch, capsys):
    csv = tmp_path / "predictions.csv"
    assert main(_commands(run, image, tmp_path)["predict --csv"]) == 0
    before = csv.read_bytes()
    monkeypatch.setattr(atomic, "_open_for_write", lambda p: _FullDisk(p, "wb"))
    assert main(_commands(run, image, tmp_path)["predict --csv"]) == 2
    assert csv.read_bytes() == before and "unchanged" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["predictions.csv"]


def test_a_file_where_a_folder_is_expected_is_named(run, image, tmp_path, capsys):
    (tmp_path / "taken").write_text("a file")
    for name, argv in _commands(run, image, tmp_path / "taken").items():
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 2 and "Traceback" not in err, (name, err)
        assert "A file stands where a folder is expected" in err or "existing file" in err, (
            name,
            err,
        )
    assert (tmp_path / "taken").read_text() == "a file"


def test_torchscript_export_is_serialised_before_any_byte_is_written(run, tmp_path, monkeypatch):
    """libtorch writing straight to a full disk aborted the process (exit 134); the graph is now
    bytes in memory, written by the kit's writer."""
    calls = []
    real = torch.jit.save
    monkeypatch.setattr(
        torch.jit, "save", lambda m, f, *a, **k: calls.append(type(f)) or real(m, f, *a, **k)
    )
    out = tmp_path / "m.pt"
    assert main(["export", str(run), "--dataset", "breastmnist", "--format", "torchscript"]
                + ["--out", str(out)]) == 0  # fmt: skip
    assert calls == [io.BytesIO] and torch.jit.load(str(out)) is not None


def test_parts_of_a_killed_writer_are_removed_by_the_next_write(run, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)  # a process that has ended
    (tmp_path / f".bundle.part-{pid}").mkdir()
    (tmp_path / f".bundle.part-{pid}" / "best.safetensors").write_bytes(b"half")
    (tmp_path / f".model.pt.tmp-{pid}").write_bytes(b"half")
    (tmp_path / ".model.pt.part").write_bytes(b"an older kit's part file")
    alive = tmp_path / f".bundle.part-{os.getppid()}"  # a writer still running: left alone
    alive.mkdir()
    assert main(["bundle", str(run), "--out", str(tmp_path / "bundle")]) == 0
    assert main(["export", str(run), "--dataset", "breastmnist", "--format", "torchscript",
                 "--out", str(tmp_path / "model.pt")]) == 0  # fmt: skip
    hidden = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert hidden == [alive.name]


def test_an_error_inside_a_staged_folder_leaves_nothing_and_names_no_hidden_path(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with atomic.staged_folder(tmp_path / "out") as tmp:
            (tmp / "x").write_text("partial")
            raise RuntimeError("boom")
    with pytest.raises(FileNotFoundError) as missing:  # reading an input is not a write error
        with atomic.staged_folder(tmp_path / "out"):
            open(tmp_path / "no-such-input")
    assert "could not write" not in str(missing.value)
    with pytest.raises(atomic.WriteError) as err:
        with atomic.staged_folder(tmp_path / "out") as tmp:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp / "x"))
    assert f"the folder {tmp_path / 'out'}" in str(err.value) and ".part-" not in str(err.value)
    assert list(tmp_path.iterdir()) == []
    with atomic.staged_folder(tmp_path / "out") as tmp:
        (tmp / "x.json").write_text(json.dumps({"done": True}))
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert json.loads((tmp_path / "out" / "x.json").read_text()) == {"done": True}
