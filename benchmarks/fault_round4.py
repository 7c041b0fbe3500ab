"""Fault round 4: the files the kit reads back and the commands that write, tried as a careful user
and a careless one would: bundles (their metadata, files and paths), ``compare`` and the per-sample
outputs it pairs, plans, numeric keys, ``results.json`` scores, full and read-only drives and files
where folders are expected, interrupted writers, and datasets of your own.

Each case is classified as in ``fault_round.py`` (clear error, correct, silent wrong, unclear
error, traceback, data loss); a simulated drive fails every write the kit makes through its one
writer (``mosaic_kit.utils.atomic``).

    python benchmarks/fault_round4.py [--out benchmarks/fault_round4.json]

Exits 1 when any case is not ``clear error`` or ``correct``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import json
import sys
from pathlib import Path
from typing import List

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_round import ROOT, TINY, Case, run_round, trained  # noqa: E402


# ---------------------------------------------------------------- set-ups
def bundled(d: Path, checkpoint: str = "best") -> Path:
    from mosaic_kit.share.bundle import save_bundle

    out = d / f"bundle-{checkpoint}"
    if not out.exists():
        save_bundle(trained(d), out, checkpoint)
    return out


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def png(d: Path) -> Path:
    from PIL import Image

    path = d / "case.png"
    if not path.exists():
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)).save(
            path
        )
    return path


def predict_with(run: Path, d: Path) -> List[str]:
    return ["predict", str(run), str(png(d)), "--dataset", "breastmnist"]


def copy_run(d: Path, name: str = "copy") -> Path:
    import shutil

    shutil.copytree(trained(d), d / name)
    return d / name


def arms(d: Path, dataset_b: str = "breastmnist", datasets=("breastmnist",)) -> None:
    """Two configurations (``a``, ``b``) of 5 seeds each, with per-sample outputs and the
    results.json an evaluation computes from them."""
    from mosaic_kit.data.registry import get_info
    from mosaic_kit.evaluation.metrics import compute_metrics
    from mosaic_kit.evaluation.outputs import write_outputs

    rng = np.random.default_rng(0)
    for label, names in (("a", list(datasets)), ("b", [dataset_b, *datasets[1:]])):
        for seed in (1, 2, 3, 4, 5):
            run = d / label / f"seed{seed}"
            run.mkdir(parents=True)
            per, scores = {}, {}
            for name in names:
                y = rng.integers(0, 2, (60, 1))
                p = np.clip(0.5 + (y[:, 0] - 0.5) * 0.3 + rng.normal(0, 0.25, 60), 0.01, 0.99)
                s = np.stack([1 - p, p], 1).astype(np.float32)
                per[name] = {"val": (y, s), "test": (y, s)}
                m = compute_metrics(get_info(name).task, y, s)
                scores[name] = {"val": m, "test": m}
            config = {"method": "mos" if label == "a" else "adapter", "seed": seed}
            write_outputs(run, {c: {"student": per, "teacher": per} for c in ("best", "last")},
                          config=config)  # fmt: skip
            mean = {"acc": float(np.mean([v["test"]["acc"] for v in scores.values()]))}
            res = {"datasets": scores, "mean": {"all": mean}, "mean_val": {"all": mean}}
            res = {**res, "teacher": res, "last": {**res, "teacher": res, "round": 1}}
            res.update(params={"trainable": 10}, majority={n: 0.5 for n in names}, config=config)
            res["provenance"] = {
                "datasets": {n: "synthetic" for n in names},
                "evaluation": "complete",
                "backbone": {"backbone": "test_vit", "weights": None, "pretrained": False},
            }
            (run / "results.json").write_text(json.dumps(res))
            (run / "suite.json").write_text(json.dumps({"label": label, "seed": seed}))


def compare(d: Path, *extra: str) -> List[str]:
    return ["compare", str(d / "a"), "--against", str(d / "b"), "--boot", "200", *extra]


def rewrite_outputs(run: Path, change) -> None:
    from mosaic_kit.evaluation.outputs import load_outputs, write_outputs

    outputs = load_outputs(run)
    change(outputs)
    write_outputs(run, outputs)


def each_score(outputs, change) -> None:
    for nets in outputs.values():
        for per in nets.values():
            for splits in per.values():
                for split, (y, s) in list(splits.items()):
                    splits[split] = (y, change(s))


def plan(d: Path, body: dict, text: str = "") -> str:
    p = d / "plan.yaml"
    base = {"name": "p", "preset": "cpu-tiny", "methods": ["mos"], "datasets": ["breastmnist"],
            "seeds": [1], "out": str(d / "runs")}  # fmt: skip
    p.write_text(text or json.dumps({**base, **body}))
    return str(p)


def own_dataset(d: Path, modality: str, images) -> str:
    import yaml

    x = np.random.default_rng(0).integers(0, 256, images, dtype=np.uint8)
    y = (np.arange(len(x)) % 2)[:, None]
    splits = {f"{s}_{k}": v for s in ("train", "val", "test") for k, v in
              (("images", x), ("labels", y))}  # fmt: skip
    if images[0] == 0:  # an empty validation split only
        full = np.random.default_rng(0).integers(0, 256, (12, *images[1:]), dtype=np.uint8)
        splits.update(
            train_images=full,
            test_images=full,
            # fmt: skip
            train_labels=(np.arange(12) % 2)[:, None],
            test_labels=(np.arange(12) % 2)[:, None],
        )
    np.savez(d / "own.npz", **splits)
    (d / "own.yaml").write_text(yaml.safe_dump(
        {"name": "ownset", "task": "binary-class", "modality": modality, "source": "own.npz",
         "class_names": ["no", "yes"]}))  # fmt: skip
    return str(d / "own.yaml")


def train_with(d: Path, *sets: str) -> List[str]:
    out = ["train", "--preset", "cpu-tiny", *TINY, "--set", "datasets=breastmnist"]
    for s in sets:
        out += ["--set", s]
    return out + ["--out", str(d / "r")]


class _FullDisk(io.FileIO):
    def write(self, data):
        super().write(bytes(data)[:7])
        raise OSError(errno.ENOSPC, "No space left on device")


@contextlib.contextmanager
def drive(kind: str):
    """Every write of the kit through its writer fails as on a full (``full``) or read-only
    (``read-only``) drive."""
    import mosaic_kit.utils.atomic as atomic

    def read_only(path):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    real = atomic._open_for_write
    atomic._open_for_write = (lambda p: _FullDisk(p, "wb")) if kind == "full" else read_only
    try:
        yield
    finally:
        atomic._open_for_write = real


def no_hidden_left(d: Path) -> bool:
    return not [p for p in d.rglob("*") if ".part" in p.name or ".tmp-" in p.name]


# ---------------------------------------------------------------- the cases
def cases() -> List[Case]:  # noqa: PLR0915 - one list, read top to bottom
    c: List[Case] = []
    # ---- bundles
    for field, value, name in (("backbone", None, "missing"), ("files", None, "null"),
                               ("datasets", [], "a list")):  # fmt: skip
        c.append(Case(
            f"bundle.json: '{field}' {name}", "bundles",
            lambda d: predict_with(bundled(d), d), (field, "bundle.json"),
            setup=lambda d, f=field, v=value, n=name: edit_json(
                bundled(d) / "bundle.json",
                (lambda m: m.pop(f)) if n == "missing" else (lambda m: m.update({f: v}))),
        ))  # fmt: skip
    c.append(Case(
        "bundle.json is not JSON", "bundles", lambda d: predict_with(bundled(d), d),
        ("bundle.json",), setup=lambda d: (bundled(d) / "bundle.json").write_text("{not json"),
    ))  # fmt: skip
    c.append(Case(
        "a checkpoint of another run copied into a bundle", "bundles",
        lambda d: predict_with(bundled(d), d), ("best.safetensors", "sha256"),
        setup=lambda d: (bundled(d) / "best.safetensors").write_bytes(
            (trained(d) / "last.safetensors").read_bytes()),
    ))  # fmt: skip
    c.append(Case(
        "a stray last.safetensors beside a bundle", "bundles",
        lambda d: predict_with(bundled(d), d), ("last.safetensors", "not part of the bundle"),
        setup=lambda d: (bundled(d) / "last.safetensors").write_bytes(
            (trained(d) / "last.safetensors").read_bytes()),
    ))  # fmt: skip
    c.append(Case(
        "img_size edited in a bundle's config.yaml", "bundles",
        lambda d: predict_with(bundled(d), d), ("config.yaml", "edited"),
        setup=lambda d: (bundled(d) / "config.yaml").write_text(
            (bundled(d) / "config.yaml").read_text().replace("img_size: 32", "img_size: 64")),
    ))  # fmt: skip

    def truncated_run(d: Path) -> None:
        run = copy_run(d)
        data = (run / "best.safetensors").read_bytes()
        (run / "best.safetensors").write_bytes(data[: len(data) // 2])

    c.append(Case(
        "bundle of a truncated checkpoint", "bundles",
        lambda d: ["bundle", str(d / "copy"), "--out", str(d / "b")],
        ("best.safetensors", "truncated"), setup=truncated_run,
    ))  # fmt: skip

    def card_of_last(d: Path, out: str) -> bool:
        res = json.loads((trained(d) / "results.json").read_text())
        card = (d / "b" / "README.md").read_text()
        acc = res["last"]["datasets"]["breastmnist"]["test"]["acc"] * 100
        return f"{acc:.1f}" in card and "last" in card

    c.append(Case(
        "bundle --checkpoint last: the model card's scores are the last round's", "bundles",
        lambda d: ["bundle", str(trained(d)), "--checkpoint", "last", "--out", str(d / "b")],
        check=card_of_last,
    ))  # fmt: skip

    def no_machine_path(d: Path, out: str) -> bool:
        text = "".join(p.read_text() for p in (d / "b").glob("*") if p.suffix in
                       (".json", ".yaml", ".md"))  # fmt: skip
        return str(trained(d).parent) not in text and "/tmp" not in text

    c.append(Case(
        "a bundle holds no absolute path of its machine", "bundles",
        lambda d: ["bundle", str(trained(d)), "--out", str(d / "b")], check=no_machine_path,
    ))  # fmt: skip

    # ---- compare and the per-sample outputs
    c.append(Case(
        "compare: a run's outputs lack one of its datasets", "compare",
        lambda d: compare(d), ("pneumoniamnist", "different datasets"),
        setup=lambda d: (arms(d, datasets=("breastmnist", "pneumoniamnist")), rewrite_outputs(
            d / "a" / "seed2", lambda o: [per.pop("pneumoniamnist") for n in o.values()
                                          for per in n.values()])),  # fmt: skip
    ))  # fmt: skip
    c.append(Case(
        "compare --checkpoint last on outputs without it", "compare",
        lambda d: compare(d, "--checkpoint", "last"), ("'last' checkpoint", "holds best"),
        setup=lambda d: (arms(d), rewrite_outputs(d / "a" / "seed3", lambda o: o.pop("last"))),
    ))  # fmt: skip
    c.append(Case(
        "compare: one score column for a two-class dataset", "compare",
        lambda d: compare(d), ("column", "2 classes"),
        setup=lambda d: (arms(d), rewrite_outputs(
            d / "b" / "seed1", lambda o: each_score(o, lambda s: s[:, 1:]))),
    ))  # fmt: skip
    c.append(Case(
        "compare: scores outside [0, 1]", "compare",
        lambda d: compare(d), ("not probabilities",),
        setup=lambda d: (arms(d), rewrite_outputs(
            d / "b" / "seed4", lambda o: each_score(o, lambda s: s * 3 - 1))),
    ))  # fmt: skip
    c.append(Case("compare --boot 0", "compare", lambda d: compare(d)[:-2] + ["--boot", "0"],
                  ("--boot",), setup=arms))  # fmt: skip
    c.append(Case("compare --boot 1e9", "compare",
                  lambda d: compare(d)[:-2] + ["--boot", "1000000000"], ("--boot",),
                  setup=arms))  # fmt: skip
    c.append(Case(
        "compare: outputs copied from seed 1 into seed 2's run", "compare",
        lambda d: compare(d), ("seed2/predictions.npz", "another run"),
        setup=lambda d: (arms(d), (d / "a" / "seed2" / "predictions.npz").write_bytes(
            (d / "a" / "seed1" / "predictions.npz").read_bytes())),
    ))  # fmt: skip

    def legacy_copy(d: Path) -> None:  # files written before fingerprints: scores give it away
        arms(d)
        for seed in (1, 2):
            rewrite_outputs(d / "a" / f"seed{seed}", lambda o: None)  # no fingerprint
        (d / "a" / "seed2" / "predictions.npz").write_bytes(
            (d / "a" / "seed1" / "predictions.npz").read_bytes()
        )

    c.append(Case(
        "compare: an unfingerprinted file copied from another seed", "compare",
        lambda d: compare(d), ("seed2/predictions.npz", "does not hold the outputs"),
        setup=legacy_copy,
    ))  # fmt: skip
    c.append(Case(
        "compare: the same runs on both sides", "compare",
        lambda d: ["compare", str(d / "a"), "--against", str(d / "a")], ("both sides",),
        setup=arms,
    ))  # fmt: skip
    c.append(Case(
        "compare: arms with no dataset in common", "compare", lambda d: compare(d),
        ("no dataset in common",), setup=lambda d: arms(d, dataset_b="pneumoniamnist"),
    ))  # fmt: skip

    # ---- plans
    for seeds, why in (("42", "a string"), ([1.5], "a fraction"), ([True], "a boolean"),
                       (True, "a boolean alone"), ([None], "a null")):  # fmt: skip
        c.append(Case(f"plan: seeds {why}", "plans",
                      lambda d, s=seeds: ["suite", "--plan", plan(d, {"seeds": s}), "--dry-run"],
                      ("seeds",)))  # fmt: skip
    c.append(Case(
        "plan: a key written twice", "plans",
        lambda d: ["suite", "--plan", plan(d, {}, "name: p\npreset: cpu-tiny\nmethods: [mos]\n"
                   "datasets: [breastmnist]\nseeds: [1]\nseeds: [2]\n"), "--dry-run"],
        ("seeds", "twice"),
    ))  # fmt: skip
    for key, value in (("seed", 3), ("out", "elsewhere"), ("datasets", "pneumoniamnist")):
        c.append(Case(f"plan: overrides: {{{key}: ...}}", "plans",
                      lambda d, k=key, v=value: ["suite", "--plan",
                                                 plan(d, {"overrides": {k: v}}), "--dry-run"],
                      (key,)))  # fmt: skip
    c.append(Case(
        "plan: out names an existing file", "plans",
        lambda d: ["suite", "--plan", plan(d, {"out": str(d / "taken.txt")}), "--dry-run"],
        ("taken.txt",), setup=lambda d: (d / "taken.txt").write_text("keep"),
        protect=lambda d: [d / "taken.txt"],
    ))  # fmt: skip
    c.append(Case("plan: datasets a string", "plans",
                  lambda d: ["suite", "--plan", plan(d, {"datasets": "breastmnist"}), "--dry-run"],
                  ("datasets",)))  # fmt: skip
    c.append(Case("plan: --report-only before any run", "plans",
                  lambda d: ["suite", "--plan", plan(d, {}), "--report-only"],
                  ("has finished", "nothing to report")))  # fmt: skip
    c.append(Case("--plan given a folder", "plans", lambda d: ["suite", "--plan", str(d)],
                  ("is a folder",)))  # fmt: skip

    # ---- numbers
    for key, value in (("patch_3d", "0"), ("adapter_scale", "1e30"),
                       ("consistency_weight", "1e30"), ("lr", "1e308"),
                       ("weight_decay", "1e30"), ("threads", "100000"), ("img_size", "4096"),
                       ("device", "tpu")):  # fmt: skip
        c.append(Case(f"train --set {key}={value}", "numbers",
                      lambda d, k=key, v=value: train_with(d, f"{k}={v}"), (key,)))  # fmt: skip
    c.append(
        Case(
            "train --dry-run --set patch_3d=0",
            "numbers",
            lambda d: train_with(d, "patch_3d=0") + ["--dry-run"],
            ("patch_3d",),
        )
    )
    for metric, value in (("acc", 2.5), ("acc", -1), ("auc", float("inf"))):
        c.append(Case(
            f"table: results.json {metric} {value}", "numbers",
            lambda d: ["table", str(d / "copy"), "--out", str(d / "t")],
            ("results.json", metric),
            setup=lambda d, m=metric, v=value: edit_json(
                copy_run(d) / "results.json",
                lambda r: r["datasets"]["breastmnist"]["test"].update({m: v})),
        ))  # fmt: skip

    # ---- drives and folders
    writers = {
        "bundle": lambda d: ["bundle", str(trained(d)), "--out", str(d / "out" / "b")],
        "export": lambda d: ["export", str(trained(d)), "--dataset", "breastmnist", "--format",
                             "torchscript", "--out", str(d / "out" / "m.pt")],
        "predict --attention": lambda d: predict_with(trained(d), d) + [
            "--attention", str(d / "out" / "overlays")],
        "predict --csv": lambda d: predict_with(trained(d), d) + [
            "--csv", str(d / "out" / "p.csv")],
        "table": lambda d: ["table", str(trained(d)), "--out", str(d / "out" / "t")],
    }  # fmt: skip
    for kind, reason in (("full", "No space left"), ("read-only", "Read-only")):
        for name, argv in writers.items():
            c.append(Case(
                f"{name} onto a {kind} drive", "drives", argv,
                lambda d, r=reason: ("could not write", r, str(d / "out")),
                patch=lambda k=kind: drive(k),
            ))  # fmt: skip
    for name, argv in writers.items():
        c.append(Case(
            f"{name} where a file stands in place of a folder", "drives", argv,
            ("a file stands where a folder is expected", "out"),
            setup=lambda d: (d / "out").write_text("a file"), protect=lambda d: [d / "out"],
        ))  # fmt: skip

    def killed_writers(d: Path) -> None:  # hidden parts of a bundle and an export, killed
        (d / ".b.part-999999").mkdir()  # no process has this number
        (d / ".b.part-999999" / "best.safetensors").write_bytes(b"half")
        (d / ".m.pt.tmp-999999").write_bytes(b"half")
        (d / ".m.pt.part").write_bytes(b"half")  # an earlier version's export part

    def both(d: Path) -> List[str]:  # the bundle, then the export, each over its own leftovers
        from fault_round import run_cli

        rc, _, err = run_cli(["bundle", str(trained(d)), "--out", str(d / "b")])
        assert rc == 0, err
        return ["export", str(trained(d)), "--dataset", "breastmnist", "--format", "torchscript",
                "--out", str(d / "m.pt")]  # fmt: skip

    c.append(Case(
        "bundle and export after killed ones: their hidden parts are removed", "drives", both,
        check=lambda d, out: (d / "b" / "bundle.json").is_file() and (d / "m.pt").is_file()
        and no_hidden_left(d),
        setup=killed_writers,
    ))  # fmt: skip

    # ---- datasets of your own
    for modality, shape, must in (("2d", (12, 28, 28, 2), "2 channels"),
                                  ("2d", (12, 28, 28, 28), "modality"),
                                  ("3d", (12, 28, 28), "modality"),
                                  ("2d", (0, 28, 28), "val_images is empty")):  # fmt: skip
        c.append(Case(
            f"own dataset: {modality} spec, arrays {shape}", "own data",
            lambda d, m=modality, s=shape: train_with(d, f"custom_datasets={own_dataset(d, m, s)}",
                                                      "datasets=ownset"),
            ("own.npz", must),
        ))  # fmt: skip
    return c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "fault_round4.json"))
    return run_round(cases(), ap.parse_args().out)


if __name__ == "__main__":
    sys.exit(main())
