"""Faults an adversarial user (or a bad day) produces: each ends in one clear error, or in the
right result with nothing written over; none exits 0 with a wrong number."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import tiny_cfg

from mosaic_kit.config import load_config
from mosaic_kit.data import open_split
from mosaic_kit.train import train
from mosaic_kit.utils.checkpoint import load_state, load_tensors

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(
    datasets=["breastmnist", "adrenalmnist3d"], rounds=2, steps_per_dataset=2, eval_max_samples=16
)


class _RunsCode:
    """Unpickling this calls ``os.system``: what a hostile ``last_state.pt`` would hold."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_state_file_that_would_run_code_is_refused(tmp_path):
    run = train(tiny_cfg(tmp_path, **TINY), progress=False, stop_after_rounds=1)
    marker = tmp_path / "pwned"
    state = load_state(run / "last_state.pt")
    state["extra"] = _RunsCode(marker)
    torch.save(state, run / "last_state.pt")
    with pytest.raises(
        ValueError, match="holds objects other than tensors.*could run code, so it is refused"
    ):
        train(tiny_cfg(tmp_path, **TINY), resume=True, progress=False)
    assert not marker.exists()


def test_a_second_trainer_in_the_same_directory_is_refused(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom mosaic_kit.train.lock import RunLock\n"
            f"with RunLock({str(out)!r}):\n    print('locked', flush=True)\n    time.sleep(120)",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(
            RuntimeError, match=rf"being trained by another process \(pid {holder.pid}\)"
        ):
            train(tiny_cfg(tmp_path, **TINY), progress=False)
        assert not (out / "config.yaml").exists()  # nothing of the holder's run was touched
    finally:
        holder.kill()  # SIGKILL: the kernel drops the lock with the process
        holder.wait()
    assert (train(tiny_cfg(tmp_path, **TINY), progress=False) / "results.json").is_file()


def _breast_like(n_train=546, n_val=78, n_test=156):
    rng = np.random.default_rng(0)
    return {
        f"{s}_{k}": (
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
            if k == "images"
            else rng.integers(0, 2, (n, 1), dtype=np.uint8)
        )
        for s, n in (("train", n_train), ("val", n_val), ("test", n_test))
        for k in ("images", "labels")
    }


def test_a_file_rewritten_in_place_is_read_anew(tmp_path, capfd):
    path = tmp_path / "breastmnist.npz"
    arrays = _breast_like()
    np.savez(path, **arrays)
    stat = path.stat()
    first = open_split(tmp_path, "breastmnist", "train", cache_dir=tmp_path / "c").labels.copy()
    arrays["train_labels"] = 1 - arrays["train_labels"]  # other labels, same size
    np.savez(path, **arrays)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same modification time
    assert path.stat().st_size == stat.st_size
    again = open_split(tmp_path, "breastmnist", "train", cache_dir=tmp_path / "c").labels
    np.testing.assert_array_equal(again, 1 - first)
    assert "changed since its cache" in capfd.readouterr().err


def test_another_datasets_file_under_a_real_name_is_named(tmp_path):
    # BreastMNIST's split sizes, Pneumonia's name
    np.savez(tmp_path / "pneumoniamnist.npz", **_breast_like())
    with pytest.raises(
        ValueError, match=r"546 images, PneumoniaMNIST's has 4708; .* those of BreastMNIST"
    ):
        open_split(tmp_path, "pneumoniamnist", "train", cache_dir=tmp_path / "c")
    np.savez(tmp_path / "breastmnist.npz", **_breast_like())
    assert len(open_split(tmp_path, "breastmnist", "train", cache_dir=tmp_path / "c")) == 546


def test_resume_applies_allowed_changes_and_refuses_the_rest(tmp_path):
    cfg = tiny_cfg(tmp_path, **TINY)
    run = train(cfg, progress=False, stop_after_rounds=1)
    steps_before = len((run / "metrics.jsonl").read_text().splitlines())
    with pytest.raises(
        ValueError, match=r"another experiment: lr: 0\.001 -> 0\.01.*start a new run"
    ):
        train(
            load_config(file=str(run / "config.yaml"), overrides={"lr": 0.01}),
            resume=True,
            progress=False,
        )
    edited = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({**edited, "bottleneck_b": 13}))
    with pytest.raises(ValueError, match=r"bottleneck_b: 12 -> 13"):
        train(load_config(file=str(run / "config.yaml")), resume=True, progress=False)
    # refused before any step
    assert len((run / "metrics.jsonl").read_text().splitlines()) == steps_before
    (run / "config.yaml").write_text(yaml.safe_dump(edited))
    train(
        load_config(file=str(run / "config.yaml"), overrides={"rounds": 3}),
        resume=True,
        progress=False,
    )
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["changed"] for r in rows if r["kind"] == "resume"] == [{"rounds": [2, 3]}]
    assert [r["round"] for r in rows if r["kind"] == "round"] == [0, 1, 2]
    assert yaml.safe_load((run / "config.yaml").read_text())["rounds"] == 3


def test_resume_through_the_cli_takes_set(tmp_path):
    run = train(tiny_cfg(tmp_path, **TINY), progress=False, stop_after_rounds=1)
    r = subprocess.run(
        [sys.executable, "-m", "mosaic_kit", "train", "--resume", str(run), "--set", "seed=7"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "seed: 42 -> 7" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "mosaic_kit", "train", "--resume", str(run), "--set", "patience=9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resumed with patience 5 -> 9" in r.stdout + r.stderr


def test_eval_never_overwrites_the_training_result(tmp_path):
    run = train(tiny_cfg(tmp_path, **TINY), progress=False)
    before = (run / "results.json").read_bytes()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mosaic_kit",
            "eval",
            str(run),
            "--checkpoint",
            "last",
            "--set",
            "eval_max_samples=8",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert (run / "results.json").read_bytes() == before
    written = json.loads((run / "evaluation-last-eval_max_samples=8.json").read_text())
    assert written["evaluation"] == {
        "checkpoint": "last",
        "overrides": {"eval_max_samples": 8},
        "truncated": True,
    }
    assert "evaluation-last-eval_max_samples=8.json" in r.stdout


def test_a_crash_between_the_checkpoint_writes_resumes_from_the_last_complete_state(
    tmp_path, monkeypatch, capfd
):
    import mosaic_kit.train.saver as ckpt_mod

    ref = train(tiny_cfg(tmp_path / "ref", **{**TINY, "rounds": 3}), progress=False)
    real, calls = ckpt_mod.save_state, {"n": 0}

    def dies_on_the_second(path, state):
        calls["n"] += 1
        if (
            calls["n"] == 2
        ):  # round 2: last.safetensors is written, the machine dies before last_state.pt
            raise SystemExit("power cut")
        real(path, state)

    monkeypatch.setattr(ckpt_mod, "save_state", dies_on_the_second)
    with pytest.raises(SystemExit):
        train(tiny_cfg(tmp_path, **{**TINY, "rounds": 3}), progress=False)
    monkeypatch.setattr(ckpt_mod, "save_state", real)
    assert int(load_tensors(tmp_path / "run" / "last.safetensors")[1]["step"]) == 8
    assert load_state(tmp_path / "run" / "last_state.pt")["state"]["step"] == 4
    run = train(tiny_cfg(tmp_path, **{**TINY, "rounds": 3}), resume=True, progress=False)
    assert "newer than last_state.pt (step 4)" in capfd.readouterr().err
    assert (
        json.loads((run / "results.json").read_text())["datasets"]
        == json.loads((ref / "results.json").read_text())["datasets"]
    )
    for a, b in zip(
        load_tensors(run / "last.safetensors")[0]["student"].values(),
        load_tensors(ref / "last.safetensors")[0]["student"].values(),
    ):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "text, message",
    [
        ("- lr\n- 0.1\n", "must be a YAML mapping of keys to values; it holds a list"),
        ("lr: [1, 2\n", "is not valid YAML"),
        ("lr: .nan\n", "'lr' must be a finite number"),
        ("rounds: 2.5\n", "'rounds' expects int"),
    ],
)
def test_bad_configuration_files_are_named(tmp_path, text, message):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_config("cpu-tiny", file=str(f))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mosaic_kit",
            "train",
            "--config",
            str(f),
            "--out",
            str(tmp_path / "r"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr


def test_bad_checkpoint_and_results_files_are_named(tmp_path):
    from mosaic_kit.evaluation.rescore import evaluate_run
    from mosaic_kit.evaluation.results import load_results

    run = train(tiny_cfg(tmp_path, **TINY), progress=False)
    (run / "last.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="not a readable safetensors checkpoint"):
        evaluate_run(run, "last")
    (run / "results.json").write_text("{ truncated")
    with pytest.raises(ValueError, match="results.json is not valid JSON"):
        load_results(run)
    (run / "last_state.pt").write_bytes(b"PK\x03\x04 not a torch file")
    with pytest.raises(ValueError, match="not a readable training state"):
        load_state(run / "last_state.pt")


def test_no_disk_for_the_cache_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    import shutil

    import mosaic_kit.data.files as files

    np.savez(tmp_path / "breastmnist.npz", **_breast_like())
    monkeypatch.setattr(
        files.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10 << 30, 10 << 30, 1 << 20)
    )
    with pytest.raises(
        OSError,
        match=r"needs 0\.00 GiB as a memory-mapped copy in .* has 0\.00 GiB free; set "
        r"cache_dir",
    ):
        open_split(tmp_path, "breastmnist", "train", cache_dir=tmp_path / "c")
    assert not [p for p in (tmp_path / "c").rglob("*") if ".tmp-" in p.name or p.suffix == ".npy"]


def test_dry_run_checks_every_run_before_any_trains(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        yaml.safe_dump(
            {
                "name": "typo",
                "preset": "cpu-tiny",
                "methods": ["mos", "lorra"],
                "datasets": ["breastmnist"],
                "seeds": [1],
            }
        )
    )
    r = subprocess.run(
        [sys.executable, "-m", "mosaic_kit", "suite", "--plan", str(plan), "--dry-run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert (
        r.returncode == 2
        and "run lorra/breastmnist/seed1: Unknown method 'lorra'. Did you mean 'lora'?" in r.stderr
    )
    plan.write_text("- not\n- a mapping\n")
    r = subprocess.run(
        [sys.executable, "-m", "mosaic_kit", "suite", "--plan", str(plan), "--dry-run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "Plan " in r.stderr and "must be a YAML mapping" in r.stderr
    assert not (tmp_path / "runs").exists()


def test_custom_sizes_are_noted_synthetic_files_are_recognised(tmp_path, capfd):
    from mosaic_kit.data import write_suite

    # a subset: no dataset has 100 images
    np.savez(tmp_path / "breastmnist.npz", **_breast_like(n_train=100))
    assert len(open_split(tmp_path, "breastmnist", "train", cache_dir=tmp_path / "c")) == 100
    assert "has 100 images where BreastMNIST's official file has 546" in capfd.readouterr().err
    # the kit's suite, recognised by its marker array
    synth = write_suite(tmp_path / "s", ["breastmnist"])
    assert len(open_split(synth, "breastmnist", "train", cache_dir=tmp_path / "c")) == 320
    assert "official file" not in capfd.readouterr().err


def test_a_misfit_names_the_dataset_the_arrays_fit(tmp_path):
    arrays = _breast_like()
    arrays["train_labels"] = arrays["train_labels"] * 0 + 1
    # grayscale BreastMNIST arrays under an RGB dataset's name
    np.savez(tmp_path / "pathmnist.npz", **arrays)
    with pytest.raises(
        ValueError, match=r"expected \(N, S, S, 3\) .* Its arrays fit BreastMNIST\."
    ):
        open_split(tmp_path, "pathmnist", "train", cache_dir=tmp_path / "c")


@pytest.mark.parametrize(
    "override, message",
    [
        ({"rotation_deg": 270.0}, r"rotation_deg must be in \[0, 180\]"),
        ({"min_lr": 1e-2}, r"min_lr \(0\.01\) must be at most lr"),
        ({"adapter_scale": 0.0}, "adapter_scale must be > 0"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"lora_dropout": 1.0}, "lora_dropout must be < 1"),
        ({"lr": float("inf")}, "'lr' must be a finite number"),
    ],
)
def test_numbers_out_of_range_are_named(override, message):
    with pytest.raises(ValueError, match=message):
        load_config("cpu-tiny", overrides=override)


def test_messages_name_the_file_and_the_fix(tmp_path, capsys):
    """Errors that said nothing useful: a file given as --out, a weights file that is not one, an
    .npy that is not an array, a results.json with a null metric."""
    import json as _json

    from mosaic_kit.cli import main
    from mosaic_kit.data.readers import read_array
    from mosaic_kit.models.backbone import create_backbone
    from mosaic_kit.reports import find_runs, load_records

    (tmp_path / "afile").write_text("x")
    assert main(["train", "--preset", "cpu-tiny", "--out", str(tmp_path / "afile")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    (tmp_path / "w.safetensors").write_text("not weights")
    with pytest.raises(ValueError, match="could not be read as a .safetensors weights file"):
        create_backbone("test_vit", tmp_path / "w.safetensors", 32)
    (tmp_path / "x.npy").write_text("not an array")
    with pytest.raises(ValueError, match="not a NumPy .npy file"):
        read_array(tmp_path / "x.npy")
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="never loads"):
        read_array(tmp_path / "o.npy")
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(
        _json.dumps(
            {
                "datasets": {
                    "breastmnist": {
                        "val": {"acc": 0.8, "auc": 0.9},
                        "test": {"acc": 0.8, "auc": None},
                    }
                }
            }
        )
    )
    with pytest.raises(ValueError, match=r"datasets.breastmnist.test.auc is None, not a score"):
        load_records(find_runs([tmp_path]))
    # numbers out of range were tabled as 250.0, -100.0 and inf
    for bad, shown in ((2.5, "2.5"), (-1, "-1"), (float("inf"), "inf")):
        text = (run / "results.json").read_text().replace("null", "0.7")
        data = _json.loads(text)
        data["datasets"]["breastmnist"]["test"]["acc"] = bad
        (run / "results.json").write_text(_json.dumps(data))
        with pytest.raises(ValueError, match=rf"test.acc is {shown}, not a score between 0 and 1"):
            load_records(find_runs([tmp_path]))


def test_a_symlink_loop_is_not_reported_as_a_missing_download(tmp_path):
    from mosaic_kit.data import open_split

    loop = tmp_path / "breastmnist.npz"
    loop.symlink_to(loop)
    with pytest.raises(FileNotFoundError, match="symbolic link that leads nowhere"):
        open_split(tmp_path, "breastmnist", "train")


def test_outputs_never_land_in_the_current_folder_or_on_a_file(tmp_path, capsys, monkeypatch):
    """Found by benchmarks/fault_round.py: `--out ''` trained into the preset's folder; `table`
    and `synth` onto an existing file gave a bare [Errno 17]; `compare` on a folder without runs
    printed an empty table."""
    from mosaic_kit.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["train", "--preset", "cpu-tiny", "--out", ""]) == 2
    assert "out is empty" in capsys.readouterr().err and not (tmp_path / "runs").exists()
    (tmp_path / "taken.txt").write_text("keep me")
    for argv in (["table", str(tmp_path), "--out", "taken.txt"], ["synth", "--out", "taken.txt"]):
        assert main(argv) == 2
        assert "taken.txt is an existing file" in capsys.readouterr().err
    assert (tmp_path / "taken.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    assert main(["compare", "empty"]) == 2
    assert "no finished runs" in capsys.readouterr().err
    assert main(["train", "--preset", "cpu-tiny", "--set", "lrate=0.1"]) == 2
    assert "Did you mean 'lr'?" in capsys.readouterr().err


def test_broken_npz_files_are_named_with_the_fix(tmp_path):
    """np.load's own words ("File is not a zip file", "the magic string is not correct", advice
    to load pickled data unsafely) become one message naming the file, what it should be and the
    fix, wherever an npz is read."""
    from mosaic_kit.evaluation.outputs import load_outputs, write_outputs
    from mosaic_kit.models.backbone import create_backbone
    from mosaic_kit.utils.npz import open_npz

    y, s = np.array([[0], [1]]), np.array([[0.2, 0.8], [0.6, 0.4]])
    run = tmp_path / "run"
    run.mkdir()
    write_outputs(run, {"best": {"student": {"breastmnist": {"test": (y, s)}}}})
    data = (run / "predictions.npz").read_bytes()
    (run / "predictions.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        ValueError, match=r"predictions.npz is not a readable mosaic_kit predictions file .*eval"
    ):
        load_outputs(run)
    (tmp_path / "text.npz").write_text("images and labels, honestly")
    with pytest.raises(ValueError, match="not an npz archive, or it holds Python objects") as err:
        with open_npz(
            tmp_path / "text.npz", "npz archive of images and labels", "Save it with numpy.savez."
        ):
            pass
    assert "unsafely" not in str(err.value) and "text.npz" in str(err.value)
    np.save(tmp_path / "one.npy", np.zeros(3))
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")
    with pytest.raises(ValueError, match="a single .npy array, not an npz archive"):
        with open_npz(tmp_path / "one.npz"):
            pass
    np.savez(tmp_path / "w.npz", cls=np.zeros((1, 1, 8), np.float32))
    raw = bytearray((tmp_path / "w.npz").read_bytes())
    at = raw.find(b"\x93NUMPY")
    raw[at : at + 6] = (
        # a corrupted member (zip's CRC check, else numpy's "magic string is not correct")
        b"XXXXXX"
    )
    (tmp_path / "w.npz").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="w.npz"):
        create_backbone("test_vit", tmp_path / "w.npz", 32)
    with pytest.raises(
        ValueError, match=r"w.npz is not a readable npz archive \(BadZipFile: Bad CRC-32"
    ):
        with open_npz(tmp_path / "w.npz") as z:
            z["cls"]


def test_an_evaluations_file_name_holds_only_what_changes_the_scores():
    from mosaic_kit.evaluation.rescore import evaluation_name

    assert (
        evaluation_name(
            "best",
            {
                "device": "cuda",
                "threads": 4,
                "eval_batch_size": 512,
                "weights": "/new/place/w.safetensors",
            },
        )
        == "evaluation-best"
    )
    assert (
        evaluation_name("last", {"eval_max_samples": 64, "loader_workers": 2})
        == "evaluation-last-eval_max_samples=64"
    )
