"""Datasets of your own: a class-folder dataset and an npz dataset train beside a MedMNIST one in
one model, get seeded splits, appear in tables as `custom`, and the trained model predicts on
them without their files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import tiny_cfg
from PIL import Image

import mosaic_kit
from mosaic_kit.data import open_datasets
from mosaic_kit.data.registry import check_dataset_name, get_info, resolve_datasets
from mosaic_kit.data.specs import read_spec
from mosaic_kit.reports import aggregate, load_records
from mosaic_kit.train import train


def write_example(folder: Path, n: int = 20, seed: int = 0) -> tuple:
    """A tiny class-folder dataset (RGB PNGs: 'calm' dark, 'busy' bright) and a 3D npz in HU with
    3 classes, with their spec files; returns the two spec paths."""
    rng = np.random.default_rng(seed)
    for cls, mean in (("busy", 170), ("calm", 70)):
        (folder / "skin" / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            img = np.clip(rng.normal(mean, 35, (30, 34, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(folder / "skin" / cls / f"{i:03d}.png")
    (folder / "skin.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "skinlesions",
                "task": "binary-class",
                "modality": "2d",
                "source": "skin",
                "specialist": "auto",
            }
        )
    )
    labels = np.arange(45) % 3
    vols = rng.normal(0, 200, (45, 18, 20, 22)) + labels[:, None, None, None] * 300 - 300
    np.savez(folder / "ct.npz", images=vols.astype(np.float32), labels=labels)
    (folder / "ct.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "organct",
                "task": "multi-class",
                "modality": "3d",
                "source": "ct.npz",
                "class_names": ["low", "mid", "high"],
                "window": [-1000, 1000],
                "split": [0.6, 0.2, 0.2],
                "seed": 3,
            }
        )
    )
    return folder / "skin.yaml", folder / "ct.yaml"


def test_spec_is_completed_and_registered(tmp_path):
    skin, ct = write_example(tmp_path, n=6)
    spec = read_spec(skin)
    assert (
        spec["class_names"] == ["busy", "calm"]
        and spec["channels"] == 3
        and spec["specialist"] == "A"
    )
    assert read_spec(ct)["specialist"] == "C"
    cfg = tiny_cfg(
        tmp_path,
        custom_datasets=[str(skin), str(ct)],
        datasets=["breastmnist", "skinlesions", "organct"],
    )
    assert resolve_datasets(cfg.datasets) == ["breastmnist", "skinlesions", "organct"]
    info = get_info("organct")
    assert info.is_custom and info.is_3d and info.labels == {"0": "low", "1": "mid", "2": "high"}
    data = open_datasets("synthetic", ["skinlesions", "organct"], 28, 28)
    ct_sizes = {s: len(data["organct"][s]) for s in ("train", "val", "test")}
    assert ct_sizes == {"train": 27, "val": 9, "test": 9}  # 0.6/0.2/0.2 of 15 per class, stratified
    assert data["organct"]["test"].images.shape[1:] == (28, 28, 28)
    assert sorted(np.bincount(data["organct"]["test"].labels[:, 0])) == [3, 3, 3]
    assert data["skinlesions"]["train"].images.shape[1:] == (28, 28, 3)
    # same seed, same split, read from the cache
    again = open_datasets("synthetic", ["organct"], 28, 28)
    np.testing.assert_array_equal(again["organct"]["test"].labels, data["organct"]["test"].labels)


def test_bad_specs_name_the_problem(tmp_path):
    write_example(tmp_path, n=3)
    cases = [
        ({"name": "breastmnist"}, "is a MedMNIST dataset"),
        ({"name": "My Set"}, "lower-case"),
        ({"task": "regression"}, "task 'regression' is not one of"),
        ({"modality": "4d"}, "2d or 3d"),
        ({"source": "nowhere"}, "does not exist"),
        ({"class_names": ["a", "b"]}, "do not match the class folders"),
        ({"split": [0.5, 0.5]}, "three positive fractions"),
        ({"specialist": "D"}, "specialist must be one of"),
        ({"colour": "red"}, r"unknown keys \['colour'\]"),
        ({"window": [5, 1]}, "HIGH > LOW"),
    ]
    base = yaml.safe_load((tmp_path / "skin.yaml").read_text())
    for change, message in cases:
        (tmp_path / "bad.yaml").write_text(yaml.safe_dump({**base, **change}))
        with pytest.raises((ValueError, FileNotFoundError), match=message):
            read_spec(tmp_path / "bad.yaml")
    with pytest.raises(ValueError, match="custom_datasets"):
        check_dataset_name("notregistered")
    shutil.copy(tmp_path / "skin.yaml", tmp_path / "skin2.yaml")
    with pytest.raises(ValueError, match="name skinlesions more than once"):
        tiny_cfg(
            tmp_path, custom_datasets=[str(tmp_path / "skin.yaml"), str(tmp_path / "skin2.yaml")]
        )


def test_custom_datasets_train_report_and_predict_without_their_files(tmp_path):
    skin, ct = write_example(tmp_path / "data")
    cfg = tiny_cfg(
        tmp_path,
        custom_datasets=[str(skin), str(ct)],
        rounds=1,
        datasets=["breastmnist", "skinlesions", "organct"],
    )
    run = train(cfg, progress=False)
    results = json.loads((run / "results.json").read_text())
    assert results["provenance"]["datasets"] == {
        "breastmnist": "synthetic",
        "skinlesions": "custom",
        "organct": "custom",
    }
    assert results["routing"] == {"breastmnist": "B", "skinlesions": "A", "organct": "C"}
    assert sorted(p.name for p in (run / "datasets").glob("*.yaml")) == [
        "organct.yaml",
        "skinlesions.yaml",
    ]
    table = aggregate(load_records([run]))
    assert table.datasets == ["breastmnist", "organct", "skinlesions"]

    sample = np.asarray(Image.open(tmp_path / "data" / "skin" / "busy" / "000.png"))
    shutil.rmtree(tmp_path / "data")  # the data is gone: the model still loads and predicts
    predictor = mosaic_kit.load(run)
    pred = predictor.predict(sample, dataset="skinlesions")[0]
    assert set(pred.probabilities) == {"busy", "calm"} and pred.specialist == "A"
    import subprocess
    import sys

    report = subprocess.run(
        [sys.executable, "-m", "mosaic_kit", "report", str(run)], capture_output=True, text=True
    )
    # a fresh process learns the datasets from the run directory
    assert report.returncode == 0, report.stderr
    assert "| skinlesions |" in report.stdout and (run / "figures" / "test_scores.png").is_file()
    vol = np.random.default_rng(0).normal(0, 300, (16, 16, 16))
    assert predictor.predict(vol, dataset="organct", window=(-1000, 1000))[0].label in (
        "low",
        "mid",
        "high",
    )


@pytest.mark.parametrize(
    "labels,message",
    [
        (np.arange(45) % 3 + 0.5, "is not a whole number"),
        (np.arange(45) % 3 + 1, "labels run from 1 to 3, but the spec's 3 class names allow 0..2"),
        (np.arange(45) % 2, r"class\(es\) \['high'\] have no samples"),
        (np.array(["a"] * 45), "<U1 labels"),
    ],
)
def test_own_labels_are_integers_in_range_and_every_class_has_samples(tmp_path, labels, message):
    """Labels were truncated to integers and an absent class was trained as a class: now a clear
    error."""
    _, ct = write_example(tmp_path, n=3)
    with np.load(tmp_path / "ct.npz") as z:
        images = z["images"]
    np.savez(tmp_path / "ct.npz", images=images, labels=labels)
    tiny_cfg(tmp_path, custom_datasets=[str(ct)], datasets=["organct"])
    with pytest.raises(ValueError, match=message):
        open_datasets("synthetic", ["organct"], 28, 28, cache_dir=tmp_path / "cache")


def test_an_empty_class_folder_is_an_error(tmp_path):
    skin, _ = write_example(tmp_path, n=3)
    (tmp_path / "skin" / "empty").mkdir()
    tiny_cfg(tmp_path, custom_datasets=[str(skin)], datasets=["skinlesions"])
    with pytest.raises(ValueError, match=r"class\(es\) \['empty'\] have no samples"):
        open_datasets("synthetic", ["skinlesions"], 28, 28, cache_dir=tmp_path / "cache")


def _own_npz(tmp_path, modality, **arrays):
    np.savez(tmp_path / "own.npz", **arrays)
    (tmp_path / "own.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "ownset",
                "task": "binary-class",
                "modality": modality,
                "source": "own.npz",
                "class_names": ["no", "yes"],
            }  # fmt: skip
        )
    )
    tiny_cfg(tmp_path, custom_datasets=[str(tmp_path / "own.yaml")], datasets=["ownset"])
    return lambda: open_datasets("synthetic", ["ownset"], 28, 28, cache_dir=tmp_path / "cache")


def _splits(x, y, **replace):
    return {**{f"{s}_images": x for s in ("train", "val", "test")},
            **{f"{s}_labels": y for s in ("train", "val", "test")}, **replace}  # fmt: skip


@pytest.mark.parametrize(
    "modality, images, message",
    [
        (
            "2d",
            (12, 28, 28, 2),
            r"own.npz: train_images has shape \(12, 28, 28, 2\), images of 2 "
            "channels",
        ),  # fmt: skip
        (
            "2d",
            (12, 28, 28, 28),
            "volumes, but the spec of ownset says modality 2D; set `modality: 3d`",
        ),  # fmt: skip
        (
            "3d",
            (12, 28, 28),
            "2D images, but the spec of ownset says modality 3D; set `modality: 2d`",
        ),  # fmt: skip
        ("3d", (12, 28, 28, 3), "2D images, but the spec of ownset says modality 3D"),
    ],
)
def test_an_own_dataset_of_the_wrong_layout_is_named_against_its_source(
    tmp_path, modality, images, message
):
    """Were reported against the cache copy ("is this the file of a 3D dataset renamed?")."""
    x = np.random.default_rng(0).integers(0, 256, images, dtype=np.uint8)
    y = (np.arange(12) % 2)[:, None]
    opener = _own_npz(tmp_path, modality, **_splits(x, y))
    with pytest.raises(ValueError, match=message) as err:
        opener()
    assert "cache" not in str(err.value) and "renamed" not in str(err.value)


def test_an_empty_split_of_an_own_dataset_is_named(tmp_path):
    """Was a numpy reshape error (npz) and a KeyError (class folders)."""
    x = np.random.default_rng(0).integers(0, 256, (12, 28, 28), dtype=np.uint8)
    y = (np.arange(12) % 2)[:, None]
    empty = {"val_images": x[:0], "val_labels": y[:0]}
    with pytest.raises(ValueError, match="val_images is empty .0 samples.; the val split needs"):
        _own_npz(tmp_path, "2d", **_splits(x, y, **empty))()
    skin, _ = write_example(tmp_path, n=3)
    for split in ("train", "val", "test"):
        for cls in ("busy", "calm"):
            (tmp_path / "skin" / split / cls).mkdir(parents=True)
            if split != "val":
                for f in sorted((tmp_path / "skin" / cls).iterdir()):
                    shutil.copy(f, tmp_path / "skin" / split / cls / f.name)
    for cls in ("busy", "calm"):
        shutil.rmtree(tmp_path / "skin" / cls)
    tiny_cfg(tmp_path, custom_datasets=[str(skin)], datasets=["skinlesions"])
    with pytest.raises(ValueError, match="the val split of .*skin is empty; add samples"):
        open_datasets("synthetic", ["skinlesions"], 28, 28, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("seed", "x", r"seed: input should be a valid integer \(got 'x'\)"),
        ("seed", 1.5, "seed: input should be a valid integer"),
        ("seed", True, "seed: input should be a valid integer"),
        ("seed", -1, "seed: input should be greater than or equal to 0"),
        ("source", None, r"source has no value \(null\); give one\.$"),
        ("source", 5, "source: input should be a valid string"),
        ("channels", "x", "channels: input should be a valid integer"),
        ("class_names", ["a", "a"], r"\['a'\] appear more than once"),
        ("class_names", ["a"], "name 1 class.es., but a binary-class dataset has exactly 2"),
        ("window", [float("nan"), 1], "window: value error, the numbers must be finite"),
    ],
)
def test_a_spec_of_the_wrong_types_is_one_error_naming_the_key(tmp_path, key, value, message):
    """Were accepted (a seed "x", 1.5 or -1; a class named twice; one class for a binary task) or
    a TypeError (source null or a number)."""
    x = np.zeros((10, 28, 28), np.uint8)
    np.savez(tmp_path / "x.npz", images=x, labels=(np.arange(10) % 2)[:, None])
    spec = {"name": "ownx", "task": "binary-class", "modality": "2d", "source": "x.npz",
            "class_names": ["a", "b"], key: value}  # fmt: skip
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(ValueError, match=message):
        read_spec(tmp_path / "s.yaml")
    good = {**spec, "source": "x.npz", "class_names": [0, 1]}  # numbers as names: kept as text
    good.pop(key) if key not in ("source", "class_names") else None
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(good))
    assert read_spec(tmp_path / "s.yaml")["class_names"] == ["0", "1"]
