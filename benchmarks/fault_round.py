"""A fault round: bad inputs a careful user would try, each through the command line, each outcome
classified.

Every case is an ``argv`` for ``python -m mosaic_kit`` (run in-process, one interpreter) after a
set-up that writes the bad input into a scratch folder. Outcomes:

* ``clear error``: exit status 2 and one ``error:`` line that names what the case says it must (the
  file, the key, the fix), no traceback;
* ``correct``: exit 0 and the case's own check of the result holds;
* ``silent wrong``: exit 0 where an error was due, or a check that fails; ``data loss``: a file the
  case protects changed; ``traceback``: an exception escaped; ``unclear error``: an error that does
  not name what it must.

    python benchmarks/fault_round.py [--out benchmarks/fault_round.json]

Exits 1 when any case is not ``clear error`` or ``correct``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--set",
    "backbone=test_vit",
    "--set",
    "weights=none",
    "--set",
    "img_size=32",
    "--set",
    "vol_size=16",
    "--set",
    "bottleneck_a=8",
    "--set",
    "bottleneck_b=12",
    "--set",
    "bottleneck_c=16",
    "--set",
    "rounds=1",
    "--set",
    "steps_per_dataset=2",
    "--set",
    "batch_size=8",
    "--set",
    "warmup_steps=1",
    "--set",
    "eval_max_samples=32",
]


@dataclass
class Case:
    name: str
    kind: str  # the fault class
    argv: Callable[[Path], List[str]]
    # substrings the error must hold (or a function of the case's folder giving them), or
    must_name: object = ()
    check: Optional[Callable[[Path, str], bool]] = (
        None  # a check of a correct result (exit 0 expected)
    )
    protect: Callable[[Path], List[Path]] = lambda d: []  # files that must be unchanged afterwards
    setup: Callable[[Path], None] = lambda d: None
    # a context the command runs in (a simulated full or read-only drive)
    patch: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    outcome: str = ""
    detail: str = field(default="", repr=False)


def run_cli(argv: List[str]) -> tuple:
    from mosaic_kit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exit_:
            rc = exit_.code if isinstance(exit_.code, int) else 2
        except BaseException:  # noqa: BLE001 - the round's purpose: nothing may escape
            return "traceback", out.getvalue(), err.getvalue() + traceback.format_exc()
    return rc, out.getvalue(), err.getvalue()


def digest(paths: List[Path]) -> dict:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None for p in paths
    }


def classify(case: Case, work: Path) -> None:
    case.setup(work)
    guarded = case.protect(work)
    before = digest(guarded)
    argv = case.argv(work)
    with case.patch():
        rc, out, err = run_cli(argv)
    after = digest(guarded)
    case.detail = (err or out).strip()[-600:]
    if before != after:
        case.outcome = "data loss"
    elif rc == "traceback":
        case.outcome = "traceback"
    elif case.check is not None:
        case.outcome = (
            "correct"
            if rc == 0 and case.check(work, out)
            else "silent wrong"
            if rc == 0
            else "unclear error"
        )
    elif rc == 0:
        case.outcome = "silent wrong"
    elif "Traceback" in err:
        case.outcome = "traceback"
    else:
        text = err.lower()
        must = case.must_name(work) if callable(case.must_name) else case.must_name
        case.outcome = "clear error" if all(s.lower() in text for s in must) else "unclear error"


# ---------------------------------------------------------------- set-ups
def npz(path: Path, **arrays) -> None:
    np.savez(path, **arrays)


def breast_like(root: Path, labels=None, images=None, drop=()) -> None:
    """A small BreastMNIST-shaped file under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 16), ("val", 8), ("test", 8)):
        if split in drop:
            continue
        arrays[f"{split}_images"] = (
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if images is None else images(n)
        )
        y = rng.integers(0, 2, (n, 1)).astype(np.uint8)
        y[:2, 0] = [0, 1]
        arrays[f"{split}_labels"] = y if labels is None else labels(n)
    npz(root / "breastmnist.npz", **arrays)


def train_on(data_root: Path) -> List[str]:
    """A tiny BreastMNIST training on the files in ``data_root`` (download off), its run beside
    them."""
    return [
        "train",
        "--preset",
        "cpu-tiny",
        *TINY,
        "--set",
        "datasets=breastmnist",
        "--set",
        f"data_root={data_root}",
        "--set",
        "download=false",
        "--out",
        str(data_root.parent / "r"),
    ]


def trained(work: Path) -> Path:
    """One tiny synthetic run, shared by the cases that need a trained run."""
    run = work.parent / "shared-run"
    if not (run / "results.json").exists():
        rc, out, err = run_cli(
            [
                "train",
                "--preset",
                "cpu-tiny",
                "--set",
                "datasets=breastmnist,adrenalmnist3d",
                *TINY,
                "--out",
                str(run),
            ]
        )
        assert rc == 0, err
    return run


def cases() -> List[Case]:
    c: List[Case] = []
    run = trained
    # ---- writers that must never destroy
    c.append(
        Case(
            "export --out onto the run's results.json",
            "writers",
            lambda d: [
                "export",
                str(run(d)),
                "--dataset",
                "breastmnist",
                "--format",
                "torchscript",
                "--out",
                str(run(d) / "results.json"),
            ],
            ("results.json",),
            protect=lambda d: [run(d) / "results.json"],
        )
    )
    c.append(
        Case(
            "export --out onto a folder",
            "writers",
            lambda d: [
                "export",
                str(run(d)),
                "--dataset",
                "breastmnist",
                "--format",
                "torchscript",
                "--out",
                str(d),
            ],
            lambda d: (str(d),),
        )
    )
    c.append(
        Case(
            "table --out onto an existing file",
            "writers",
            lambda d: ["table", str(run(d)), "--out", str(d / "taken.txt")],
            ("taken.txt",),
            setup=lambda d: (d / "taken.txt").write_text("keep me"),
            protect=lambda d: [d / "taken.txt"],
        )
    )
    c.append(
        Case(
            "train --out ''",
            "writers",
            lambda d: ["train", "--preset", "cpu-tiny", *TINY, "--out", ""],
            ("out",),
        )
    )
    c.append(
        Case(
            "train --out onto an existing file",
            "writers",
            lambda d: [
                "train",
                "--preset",
                "cpu-tiny",
                *TINY,
                "--set",
                "datasets=breastmnist",
                "--out",
                str(d / "file.txt"),
            ],
            ("file.txt",),
            setup=lambda d: (d / "file.txt").write_text("keep me"),
            protect=lambda d: [d / "file.txt"],
        )
    )
    c.append(
        Case(
            "train into a finished run without --resume",
            "writers",
            lambda d: [
                "train",
                "--preset",
                "cpu-tiny",
                *TINY,
                "--set",
                "datasets=breastmnist,adrenalmnist3d",
                "--out",
                str(run(d)),
            ],
            ("--resume",),
            protect=lambda d: [run(d) / "results.json"],
        )
    )
    c.append(
        Case(
            "synth --out onto an existing file",
            "writers",
            lambda d: ["synth", "--out", str(d / "x.npz"), "--datasets", "breastmnist"],
            ("x.npz",),
            setup=lambda d: (d / "x.npz").write_text("keep"),
            protect=lambda d: [d / "x.npz"],
        )
    )

    # ---- plans and suites
    def plan(d: Path, body: dict) -> str:
        p = d / "plan.yaml"
        p.write_text(
            json.dumps(
                {
                    "name": "p",
                    "preset": "cpu-tiny",
                    "methods": ["mos"],
                    "datasets": ["breastmnist"],
                    "seeds": [1],
                    "out": str(d / "runs"),
                    **body,
                }
            )
        )
        return str(p)

    c.append(
        Case(
            "plan: contrast with an unknown label",
            "plans",
            lambda d: [
                "suite",
                "--plan",
                plan(d, {"contrasts": [{"a": "mos", "b": "lora"}]}),
                "--dry-run",
            ],
            ("lora", "not labels of the plan"),
        )
    )
    c.append(
        Case(
            "plan: seeds listed twice",
            "plans",
            lambda d: ["suite", "--plan", plan(d, {"seeds": [1, 1]}), "--dry-run"],
            ("share the directory",),
        )
    )
    c.append(
        Case(
            "plan: misspelt key",
            "plans",
            lambda d: ["suite", "--plan", plan(d, {"seed": [1]}), "--dry-run"],
            ("did you mean 'seeds'",),
        )
    )
    c.append(
        Case(
            "plan: a method override with a typo",
            "plans",
            lambda d: [
                "suite",
                "--plan",
                plan(d, {"methods": [{"label": "a", "method": "mos", "overrides": {"lrr": 0.1}}]}),
                "--dry-run",
            ],
            ("lrr",),
        )
    )
    c.append(
        Case(
            "plan file missing",
            "plans",
            lambda d: ["suite", "--plan", str(d / "none.yaml")],
            ("none.yaml",),
        )
    )
    # ---- predict
    c.append(
        Case(
            "predict: window with HIGH < LOW",
            "predict",
            lambda d: [
                "predict",
                str(run(d)),
                str(d / "g.npy"),
                "--dataset",
                "breastmnist",
                "--window=400,-1000",
            ],
            ("window",),
            setup=lambda d: np.save(d / "g.npy", np.zeros((28, 28), np.uint8)),
        )
    )
    c.append(
        Case(
            "predict: NaN in a float image",
            "predict",
            lambda d: ["predict", str(run(d)), str(d / "nan.npy"), "--dataset", "breastmnist"],
            ("nan",),
            setup=lambda d: np.save(d / "nan.npy", np.full((28, 28), np.nan, np.float32)),
        )
    )
    c.append(
        Case(
            "predict: a text file named .png",
            "predict",
            lambda d: ["predict", str(run(d)), str(d / "fake.png"), "--dataset", "breastmnist"],
            ("fake.png",),
            setup=lambda d: (d / "fake.png").write_text("not an image"),
        )
    )
    c.append(
        Case(
            "predict: a missing file",
            "predict",
            lambda d: ["predict", str(run(d)), str(d / "gone.png"), "--dataset", "breastmnist"],
            ("gone.png",),
        )
    )
    c.append(
        Case(
            "predict: a dataset the run did not learn",
            "predict",
            lambda d: ["predict", str(run(d)), str(d / "g.npy"), "--dataset", "pathmnist"],
            ("pathmnist",),
            setup=lambda d: np.save(d / "g.npy", np.zeros((28, 28), np.uint8)),
        )
    )
    c.append(
        Case(
            "predict: one slice for a 3D dataset",
            "predict",
            lambda d: ["predict", str(run(d)), str(d / "slice.npy"), "--dataset", "adrenalmnist3d"],
            ("3d dataset",),
            setup=lambda d: np.save(d / "slice.npy", np.zeros((1, 28, 28), np.uint8)),
        )
    )
    c.append(
        Case(
            "predict: 8-bit NIfTI scores as its .npy",
            "predict",
            lambda d: [
                "predict",
                str(run(d)),
                str(d / "v.npy"),
                str(d / "v.nii.gz"),
                "--dataset",
                "adrenalmnist3d",
                "--json",
            ],
            check=lambda d, out: (lambda r: r[0]["probabilities"] == r[1]["probabilities"])(
                json.loads(out)
            ),
            setup=lambda d: _nifti_pair(d),
        )
    )
    # ---- data files
    c.append(
        Case(
            "data: truncated npz",
            "data",
            lambda d: train_on(d / "trunc"),
            ("breastmnist.npz",),
            setup=lambda d: _truncated(d),
        )
    )
    c.append(
        Case(
            "data: labels out of range",
            "data",
            lambda d: train_on(d / "range"),
            ("range",),
            setup=lambda d: breast_like(d / "range", labels=lambda n: np.full((n, 1), 3, np.uint8)),
        )
    )
    c.append(
        Case(
            "data: a split missing",
            "data",
            lambda d: train_on(d / "nosplit"),
            ("val",),
            setup=lambda d: breast_like(d / "nosplit", drop=("val",)),
        )
    )
    c.append(
        Case(
            "data: a symlink loop as the file",
            "data",
            lambda d: train_on(d / "loop"),
            ("symbolic link",),
            setup=lambda d: _loop(d),
        )
    )
    c.append(
        Case(
            "data: data_root missing, download off",
            "data",
            lambda d: train_on(d / "absent"),
            ("absent", "download"),
        )
    )
    # ---- configuration
    for key, value, must in (
        ("img_size", "0", "img_size"),
        ("img_size", "30", "img_size"),
        ("seed", str(2**64), "seed"),
        ("lr", "-1", "lr"),
        ("rounds", "0", "rounds"),
        ("batch_size", "0", "batch_size"),
        ("lrate", "0.1", "did you mean"),
        ("datasets", "breastmnst", "breastmnst"),
        ("method", "moss", "moss"),
    ):
        c.append(
            Case(
                f"config: {key}={value}",
                "config",
                lambda d, k=key, v=value: [
                    "train",
                    "--preset",
                    "cpu-tiny",
                    *TINY,
                    "--set",
                    "datasets=breastmnist",
                    "--set",
                    f"{k}={v}",
                    "--out",
                    str(d / "r"),
                ],
                (must,),
            )
        )
    c.append(
        Case(
            "config: weights file that is text",
            "config",
            lambda d: [
                "train",
                "--preset",
                "cpu-tiny",
                *TINY,
                "--set",
                "datasets=breastmnist",
                "--set",
                f"weights={d / 'w.safetensors'}",
                "--out",
                str(d / "r"),
            ],
            ("w.safetensors",),
            setup=lambda d: (d / "w.safetensors").write_text("hello"),
        )
    )
    c.append(
        Case(
            "config: weights path is a folder",
            "config",
            lambda d: [
                "train",
                "--preset",
                "cpu-tiny",
                *TINY,
                "--set",
                "datasets=breastmnist",
                "--set",
                f"weights={d}",
                "--out",
                str(d / "r"),
            ],
            lambda d: (str(d),),
        )
    )
    # ---- finished runs, tables, comparisons
    c.append(
        Case(
            "eval: a folder that is not a run",
            "runs",
            lambda d: ["eval", str(d)],
            lambda d: (str(d),),
        )
    )
    c.append(
        Case(
            "resume: a run folder that does not exist",
            "runs",
            lambda d: ["train", "--resume", str(d / "nothing")],
            ("nothing",),
        )
    )
    c.append(
        Case(
            "table: a results.json with a null metric",
            "runs",
            lambda d: ["table", str(d / "bad"), "--out", str(d / "t")],
            ("results.json",),
            setup=lambda d: _null_metric(d, trained(d)),
        )
    )
    c.append(
        Case(
            "compare: no runs under the path",
            "runs",
            lambda d: ["compare", str(d / "empty")],
            ("empty",),
            setup=lambda d: (d / "empty").mkdir(),
        )
    )
    c.append(
        Case(
            "report: a folder that is not a run",
            "runs",
            lambda d: ["report", str(d)],
            lambda d: (str(d),),
        )
    )
    c.append(
        Case(
            "eval: a run whose checkpoint file is truncated",
            "runs",
            lambda d: ["eval", str(d / "cut")],
            ("best.safetensors",),
            setup=lambda d: _cut_checkpoint(d),
        )
    )
    c.append(
        Case(
            "resume: a different datasets list",
            "runs",
            lambda d: ["train", "--resume", str(d / "copy"), "--set", "datasets=breastmnist"],
            ("datasets",),
            setup=lambda d: _copy_run(d),
            protect=lambda d: [d / "copy" / "results.json"],
        )
    )
    c.append(
        Case(
            "compare: two runs on different test sets",
            "runs",
            lambda d: ["compare", str(trained(d)), "--against", str(d / "other")],
            ("samples",),
            setup=lambda d: _other_test_set(d),
        )
    )
    c.append(
        Case(
            "predict: a gray .npy image (a correct result)",
            "predict",
            lambda d: [
                "predict",
                str(trained(d)),
                str(d / "g.npy"),
                "--dataset",
                "breastmnist",
                "--json",
            ],
            check=lambda d, out: json.loads(out)[0]["dataset"] == "breastmnist",
            setup=lambda d: np.save(d / "g.npy", np.full((28, 28), 90, np.uint8)),
        )
    )

    # ---- own datasets
    def own(d: Path, spec: dict) -> List[str]:
        (d / "own.yaml").write_text(json.dumps(spec))
        return [
            "train",
            "--preset",
            "cpu-tiny",
            *TINY,
            "--set",
            f"custom_datasets={d / 'own.yaml'}",
            "--set",
            f"datasets={spec.get('name', 'mine')}",
            "--out",
            str(d / "r"),
        ]

    c.append(
        Case(
            "own: an empty class folder",
            "own datasets",
            lambda d: own(
                d, {"name": "mine", "task": "binary-class", "modality": "2d", "source": "cls"}
            ),
            ("empty",),
            setup=lambda d: _class_folders(d, empty="empty"),
        )
    )
    c.append(
        Case(
            "own: fractional labels in an npz",
            "own datasets",
            lambda d: own(
                d,
                {
                    "name": "mine",
                    "task": "binary-class",
                    "modality": "2d",
                    "source": "own.npz",
                    "class_names": ["a", "b"],
                },
            ),
            ("whole number",),
            setup=lambda d: npz(
                d / "own.npz",
                images=np.zeros((20, 28, 28), np.uint8),
                labels=np.arange(20) % 2 + 0.5,
            ),
        )
    )
    c.append(
        Case(
            "own: an npz that is text",
            "own datasets",
            lambda d: own(
                d,
                {
                    "name": "mine",
                    "task": "binary-class",
                    "modality": "2d",
                    "source": "own.npz",
                    "class_names": ["a", "b"],
                },
            ),
            ("own.npz",),
            setup=lambda d: (d / "own.npz").write_text("images and labels"),
        )
    )
    c.append(
        Case(
            "own: a MedMNIST name taken",
            "own datasets",
            lambda d: own(
                d,
                {"name": "breastmnist", "task": "binary-class", "modality": "2d", "source": "cls"},
            ),
            ("breastmnist",),
            setup=lambda d: _class_folders(d),
        )
    )
    c.append(
        Case(
            "own: a source that does not exist",
            "own datasets",
            lambda d: own(
                d, {"name": "mine", "task": "binary-class", "modality": "2d", "source": "nowhere"}
            ),
            ("nowhere",),
        )
    )
    return c


def _class_folders(d: Path, empty: str = "") -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (d / "cls" / cls).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(
                d / "cls" / cls / f"{i}.png"
            )
    if empty:
        (d / "cls" / empty).mkdir()


def _cut_checkpoint(d: Path) -> None:
    import shutil

    shutil.copytree(trained(d), d / "cut")
    data = (d / "cut" / "best.safetensors").read_bytes()
    (d / "cut" / "best.safetensors").write_bytes(data[: len(data) // 3])


def _copy_run(d: Path) -> None:
    import shutil

    shutil.copytree(trained(d), d / "copy")


def _other_test_set(d: Path) -> None:
    import shutil

    from mosaic_kit.evaluation.outputs import load_outputs, write_outputs

    shutil.copytree(trained(d), d / "other")
    outs = load_outputs(d / "other")
    for ckpt in outs.values():
        for net in ckpt.values():
            for splits in net.values():
                y, s = splits["test"]
                splits["test"] = (y[:-2], s[:-2])  # two samples fewer: not the same test set
    write_outputs(d / "other", outs)
    # its results.json recomputed from them, as an evaluation on that test set would have written
    from mosaic_kit.data.registry import get_info
    from mosaic_kit.evaluation.metrics import compute_metrics

    res = json.loads((d / "other" / "results.json").read_text())
    for section, ckpt in ((res, "best"), (res.get("last") or {}, "last")):
        for name, (y, s) in ((n, v["test"]) for n, v in outs[ckpt]["student"].items()):
            section["datasets"][name]["test"].update(compute_metrics(get_info(name).task, y, s))
    (d / "other" / "results.json").write_text(json.dumps(res))


def _nifti_pair(d: Path) -> None:
    from mosaic_kit.data.medical_formats import write_nifti

    v = np.random.default_rng(0).integers(1, 206, (28, 28, 28)).astype(np.uint8)
    np.save(d / "v.npy", v)
    write_nifti(v, d / "v.nii.gz")


def _truncated(d: Path) -> None:
    breast_like(d / "trunc")
    data = (d / "trunc" / "breastmnist.npz").read_bytes()
    (d / "trunc" / "breastmnist.npz").write_bytes(data[: len(data) // 2])


def _loop(d: Path) -> None:
    (d / "loop").mkdir()
    os.symlink(d / "loop" / "breastmnist.npz", d / "loop" / "breastmnist.npz")


def _null_metric(d: Path, run: Path) -> None:
    import shutil

    shutil.copytree(run, d / "bad")
    res = json.loads((d / "bad" / "results.json").read_text())
    first = next(iter(res["datasets"]))
    res["datasets"][first]["test"]["auc"] = None
    (d / "bad" / "results.json").write_text(json.dumps(res))


def run_round(all_cases: List[Case], out: str) -> int:
    """Classify ``all_cases`` one by one in a scratch folder, print each outcome, write them to
    ``out`` (JSON) and return 1 when any is not a clear error or a correct result."""
    import matplotlib

    matplotlib.use("Agg")
    t0 = time.time()
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(all_cases):
            work = Path(tmp) / f"case{i:02d}"
            work.mkdir()
            classify(case, work)
            found.append(case)
            print(
                f"{case.outcome:>14}  [{case.kind}] {case.name}: "
                f"{case.detail.splitlines()[-1][:150] if case.detail else ''}"
            )
    counts = {
        k: sum(c.outcome == k for c in found) for k in dict.fromkeys(c.outcome for c in found)
    }
    print(
        f"\n{len(found)} cases in {time.time() - t0:.0f} s: "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
    )
    Path(out).write_text(
        json.dumps(
            {
                "cases": [
                    {"name": c.name, "kind": c.kind, "outcome": c.outcome, "detail": c.detail}
                    for c in found
                ],
                "counts": counts,
            },
            indent=1,
        )
    )
    return 0 if set(counts) <= {"clear error", "correct"} else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "fault_round.json"))
    return run_round(cases(), ap.parse_args().out)


if __name__ == "__main__":
    sys.exit(main())
