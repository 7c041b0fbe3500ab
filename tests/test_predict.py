"""A trained run on new inputs: every file format, the preprocessing of the training data, clear
errors for bad inputs, the ``predict`` command, export parity (ONNX, TorchScript) and weights by
timm name."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DEIT_TINY, REAL_MEDMNIST, need, tiny_cfg
from PIL import Image

import mosaic_kit
from mosaic_kit.cli import main
from mosaic_kit.data import open_datasets
from mosaic_kit.data.readers import IntensityWarning, conform, read_array
from mosaic_kit.data.registry import get_info
from mosaic_kit.evaluation.evaluate import predict as predict_split
from mosaic_kit.train import train

DATASETS = ["pathmnist", "breastmnist", "chestmnist", "adrenalmnist3d"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("predict")
    cfg = tiny_cfg(tmp, datasets=DATASETS, rounds=1, steps_per_dataset=2, eval_max_samples=32)
    return train(cfg, progress=False)


@pytest.fixture(scope="module")
def predictor(run_dir):
    return mosaic_kit.load(run_dir)


def _dicom(
    path: Path,
    pixels: np.ndarray,
    z: float,
    series: str,
    intercept: float = -1024.0,
    bits: int = 16,
) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CTImageStorage, generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.Modality = (
        CTImageStorage,
        meta.MediaStorageSOPInstanceUID,
        series,
        "CT",
    )
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.RescaleIntercept, ds.RescaleSlope = intercept, 1.0
    ds.ImagePositionPatient, ds.InstanceNumber = [0.0, 0.0, z], int(z)
    ds.PixelData = pixels.astype(np.uint8 if bits == 8 else np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def test_predictions_match_the_evaluation_of_the_same_samples(run_dir, predictor):
    """The predictor feeds the model exactly what evaluation does: same probabilities on the
    run's own test files."""
    data = open_datasets("synthetic", DATASETS, 28, 28)
    for name in ("pathmnist", "chestmnist", "adrenalmnist3d"):
        split = data[name]["test"]
        _, expected = predict_split(
            predictor.model(name), name, split, predictor.norm, predictor.device, limit=6
        )
        # a stacked batch in the files' layout
        preds = predictor.predict(split.images[:6], dataset=name)
        got = np.array([list(p.probabilities.values()) for p in preds])
        np.testing.assert_allclose(got, expected, atol=1e-5)
        assert {p.specialist for p in preds} == {predictor.model(name).routing[name]}
    multi = predictor.predict(data["chestmnist"]["test"].images[:2], dataset="chestmnist")
    assert all(
        p.label == (", ".join(c for c, v in p.probabilities.items() if v >= 0.5) or "none")
        for p in multi
    )


def test_every_file_format_is_read(tmp_path, predictor):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)
    alpha = np.dstack([rgb, rng.integers(0, 256, (40, 52), dtype=np.uint8)])
    Image.fromarray(alpha, "RGBA").save(tmp_path / "a.png")
    Image.fromarray(rgb).save(tmp_path / "a.bmp")
    Image.fromarray(rgb).save(tmp_path / "a.jpg", quality=95)
    Image.fromarray(rgb[..., 0]).save(tmp_path / "g.tif")
    np.save(tmp_path / "g.npy", rgb[..., 0])
    vol = rng.integers(0, 256, (20, 24, 30), dtype=np.uint8)
    np.save(tmp_path / "v.npy", vol)
    Image.fromarray(vol[0]).save(
        tmp_path / "v.tif", save_all=True, append_images=[Image.fromarray(s) for s in vol[1:]]
    )
    assert read_array(tmp_path / "v.tif").shape == (20, 24, 30)  # a multi-page TIFF is a volume
    assert read_array(tmp_path / "a.png").shape == (40, 52, 3)  # alpha dropped

    by_png = predictor.predict(tmp_path / "a.png", dataset="pathmnist")[0]
    by_bmp = predictor.predict(tmp_path / "a.bmp", dataset="pathmnist")[0]
    assert by_png.probabilities == pytest.approx(by_bmp.probabilities, abs=1e-6)  # RGBA == its RGB
    assert by_png.image.shape == (28, 28, 3)
    gray = predictor.predict(
        [tmp_path / "g.tif", tmp_path / "g.npy", Image.fromarray(rgb[..., 0])],
        dataset="breastmnist",
    )
    assert [p.image.shape for p in gray] == [(28, 28)] * 3
    assert gray[0].probabilities == pytest.approx(gray[1].probabilities, abs=1e-6)
    assert gray[0].probabilities == pytest.approx(gray[2].probabilities, abs=1e-6)
    # RGB -> grayscale for a gray dataset
    jpg = predictor.predict(tmp_path / "a.jpg", dataset="breastmnist")[0]
    assert jpg.image.shape == (28, 28) and sum(jpg.probabilities.values()) == pytest.approx(
        1, abs=1e-5
    )
    v_npy, v_tif = predictor.predict(
        [tmp_path / "v.npy", tmp_path / "v.tif"], dataset="adrenalmnist3d"
    )
    assert v_npy.image.shape == (28, 28, 28) and v_npy.probabilities == pytest.approx(
        v_tif.probabilities, abs=1e-6
    )


def test_eight_bit_data_stays_eight_bit_in_every_container(tmp_path, predictor):
    """A real AdrenalMNIST3D volume saved as NIfTI (write_nifti), as an 8-bit DICOM series and as
    .npy reads back exactly, uint8, without rescaling; the three give the same probabilities (so
    do an 8-bit DICOM image and PNG)."""
    from mosaic_kit.data import open_split
    from mosaic_kit.data.medical_formats import write_nifti

    src = need(REAL_MEDMNIST / "adrenalmnist3d.npz")
    real = np.asarray(
        open_split(src.parent, "adrenalmnist3d", "test", cache_dir=tmp_path / "c").images[0]
    )
    assert real.dtype == np.uint8 and real.shape == (28, 28, 28)
    # axes round-trip
    np.testing.assert_array_equal(read_array(write_nifti(real, tmp_path / "real.nii.gz")), real)
    # 8-bit intensities 1..205: min-max would stretch them
    vol = np.where(real > 0, 205, 1).astype(np.uint8)
    np.save(tmp_path / "v.npy", vol)
    back = read_array(write_nifti(vol, tmp_path / "v.nii.gz"))
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, vol)
    import nibabel as nib  # a file stored in another orientation is reoriented and stays 8-bit

    nib.save(
        nib.Nifti1Image(
            np.ascontiguousarray(vol[::-1, ::-1].transpose(2, 1, 0)[::-1]),
            np.diag([-1.0, 1.0, 1.0, 1.0]),
        ),
        tmp_path / "flipped.nii.gz",
    )
    flipped = read_array(tmp_path / "flipped.nii.gz")
    assert flipped.dtype == np.uint8 and flipped.shape == vol.shape
    series = tmp_path / "series8"
    series.mkdir()
    for z in range(vol.shape[0]):
        _dicom(series / f"s{z:02d}.dcm", vol[z], float(z), "8.8.8", intercept=0.0, bits=8)
    assert read_array(series).dtype == np.uint8
    np.testing.assert_array_equal(read_array(series), vol)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IntensityWarning)  # nothing is min-max scaled
        by = predictor.predict(
            [tmp_path / "v.npy", tmp_path / "v.nii.gz", series], dataset="adrenalmnist3d"
        )
        assert (
            not any(p.notes for p in by)
            and by[0].image.tobytes() == by[1].image.tobytes() == by[2].image.tobytes()
        )
        assert (
            by[0].probabilities
            == pytest.approx(by[1].probabilities, abs=1e-6)
            == by[2].probabilities
        )
        image = vol[14, :, :]
        Image.fromarray(image).save(tmp_path / "s.png")
        _dicom(tmp_path / "s.dcm", image, 0.0, "8.8.9", intercept=0.0, bits=8)
        png, dcm = predictor.predict(
            [tmp_path / "s.png", tmp_path / "s.dcm"], dataset="breastmnist"
        )
        assert png.image.tobytes() == dcm.image.tobytes()
        assert png.probabilities == pytest.approx(dcm.probabilities, abs=1e-6)
    with pytest.raises(ValueError, match="an image \\(H, W\\) or a volume"):
        write_nifti(np.zeros((2, 3, 4, 5)), tmp_path / "x.nii")


def test_nifti_and_dicom_volumes(tmp_path, predictor):
    import nibabel as nib

    rng = np.random.default_rng(1)
    xyz = rng.normal(0, 300, (16, 18, 12)).astype(np.float32)
    nib.save(nib.Nifti1Image(xyz, np.eye(4)), tmp_path / "v.nii.gz")
    np.testing.assert_array_equal(
        read_array(tmp_path / "v.nii.gz"), xyz.transpose(2, 1, 0)[::-1, ::-1]
    )

    series = tmp_path / "series"
    series.mkdir()
    stored = rng.integers(0, 2000, (5, 16, 16)).astype(np.uint16)
    for k, z in enumerate(
        [3.0, 1.0, 4.0, 0.0, 2.0]
    ):  # files named out of order: sorted by position
        _dicom(series / f"slice{k}.dcm", stored[int(z)], z, "1.2.3")
    (series / "README.txt").write_text("not a slice")
    # Hounsfield units
    np.testing.assert_array_equal(read_array(series), stored.astype(np.float32) - 1024)
    assert read_array(series / "slice1.dcm").shape == (16, 16)

    with pytest.warns(IntensityWarning, match="not 8-bit"):
        hu = predictor.predict(series, dataset="adrenalmnist3d")[0]
    assert hu.notes and "--window" in hu.notes[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", IntensityWarning)
        windowed = predictor.predict(
            [series, tmp_path / "v.nii.gz"], dataset="adrenalmnist3d", window=(-1000, 400)
        )
    assert [p.notes for p in windowed] == [[], []] and windowed[0].image.shape == (28, 28, 28)
    assert (
        conform(np.full((4, 4), 400.0), get_info("breastmnist"), 8, window=(-1000, 400)).max()
        == 255
    )

    other = tmp_path / "mixed"
    other.mkdir()
    _dicom(other / "a.dcm", stored[0], 0.0, "1.2.3")
    _dicom(other / "b.dcm", stored[1], 1.0, "9.9.9")
    with pytest.raises(ValueError, match="2 DICOM series"):
        read_array(other)


def test_bad_inputs_get_one_clear_error(tmp_path, predictor):
    np.save(tmp_path / "v.npy", np.zeros((8, 8, 8), np.uint8))
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "g.png")
    (tmp_path / "bad.png").write_text("not an image")
    (tmp_path / "x.xyz").write_text("?")
    cases = [
        ((tmp_path / "g.png", "adrenalmnist3d"), "2D image .* 3D dataset"),
        ((tmp_path / "v.npy", "breastmnist"), "not a 2D image, but breastmnist is a 2D dataset"),
        ((tmp_path / "bad.png", "breastmnist"), "could not be read .* Give PNG"),
        ((tmp_path / "x.xyz", "breastmnist"), "unknown file type"),
        ((tmp_path / "g.png", "breastmnst"), "Did you mean 'breastmnist'"),
        ((tmp_path / "g.png", "octmnist"), "not trained on 'octmnist'; it serves pathmnist"),
    ]
    for (item, dataset), message in cases:
        with pytest.raises(ValueError, match=message):
            predictor.predict(item, dataset=dataset)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        predictor.predict(tmp_path / "missing.png", dataset="breastmnist")
    with pytest.raises(ValueError, match="HIGH > LOW"):
        predictor.predict(tmp_path / "g.png", dataset="breastmnist", window=(5, 5))
    with pytest.raises(ValueError, match="NaN"):
        predictor.predict(np.full((8, 8), np.nan), dataset="breastmnist")
    for window in (
        (float("nan"), 400),
        (-1000, float("inf")),
    ):  # every input would become one constant
        with pytest.raises(ValueError, match="finite LOW,HIGH"):
            predictor.predict(tmp_path / "g.png", dataset="breastmnist", window=window)
    with pytest.raises(ValueError, match="NaN or infinite values"):
        predictor.predict(np.full((8, 8), np.nan), dataset="breastmnist", window=(0, 1))
    with pytest.raises(
        ValueError, match=r"shape \(1, 28, 28\), which is not a volume"
    ):  # one slice
        predictor.predict([np.zeros((1, 28, 28), np.uint8)], dataset="adrenalmnist3d")
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        mosaic_kit.load(tmp_path)


def test_predict_command_table_json_and_attention(tmp_path, run_dir, capsys):
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (30, 30), dtype=np.uint8)).save(
        tmp_path / "g.png"
    )
    assert (
        main(
            [
                "predict",
                str(run_dir),
                str(tmp_path / "g.png"),
                "--dataset",
                "breastmnist",
                "--attention",
                str(tmp_path / "att"),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    table = captured.out.splitlines()
    assert table[0].split()[:4] == ["input", "dataset", "specialist", "prediction"]
    # a synthetic-data, random-backbone test run: said on stderr, beside the table
    assert "warning: Trained and scored on synthetic stand-in data" in captured.err
    assert "warning: Its backbone (test_vit) was never pretrained" in captured.err
    assert "breastmnist" in table[1] and (tmp_path / "att" / "000-g.png").is_file()
    np.save(
        tmp_path / "ct.npy",
        np.random.default_rng(3).normal(0, 500, (10, 12, 12)).astype(np.float32),
    )
    assert (
        main(
            [
                "predict",
                str(run_dir),
                str(tmp_path / "ct.npy"),
                "--dataset",
                "adrenalmnist3d",
                "--json",
                "--window=-1000,400",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    # trained on the embedded synthetic data: classes are numbered, never given AdrenalMNIST3D's
    # real names
    assert out[0]["specialist"] == "C" and set(out[0]["probabilities"]) == {
        "synthetic class 0",
        "synthetic class 1",
    }
    assert (
        main(["predict", str(run_dir), str(tmp_path / "ct.npy"), "--dataset", "breastmnist"]) == 2
    )
    assert "breastmnist is a 2D dataset" in capsys.readouterr().err
    assert (
        main(
            [
                "predict",
                str(run_dir),
                str(tmp_path / "g.png"),
                "--dataset",
                "breastmnist",
                "--window",
                "1",
            ]
        )
        == 2
    )
    assert "LOW,HIGH" in capsys.readouterr().err


@pytest.mark.parametrize("dataset", ["breastmnist", "pathmnist", "adrenalmnist3d"])
def test_export_matches_pytorch(tmp_path, run_dir, predictor, dataset):
    ort = pytest.importorskip("onnxruntime", reason="export is the `export` extra")
    from mosaic_kit.share.export import example_input, export

    onnx_file, meta_file = export(run_dir, dataset, "onnx", tmp_path / f"{dataset}.onnx")
    ts_file, _ = export(run_dir, dataset, "torchscript", tmp_path / f"{dataset}.pt")
    meta = json.loads(meta_file.read_text())
    assert (
        meta["class_names"] == predictor.class_names(dataset)
        and meta["input"]["shape"][0] == "batch"
    )
    x = example_input(dataset, 28, batch=5, seed=4)  # another batch size than the export's example
    reference = np.array(
        [
            list(p.probabilities.values())
            for p in predictor.predict(x.numpy().astype(np.uint8), dataset=dataset)
        ]
    )
    logits, probs = ort.InferenceSession(str(onnx_file)).run(None, {"input": x.numpy()})
    assert probs.shape == reference.shape and np.abs(probs - reference).max() < 1e-4
    with torch.no_grad():
        scripted = torch.jit.load(str(ts_file))(x)
    assert np.abs(scripted[1].numpy() - reference).max() < 1e-4
    assert np.abs(scripted[0].numpy() - logits).max() < 1e-4
    # batch of one
    one = ort.InferenceSession(str(onnx_file)).run(None, {"input": x[:1].numpy()})[1]
    assert np.abs(one - reference[:1]).max() < 1e-4
    assert not list(tmp_path.glob(".*.part"))


def test_weights_by_timm_name_from_the_local_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from mosaic_kit.models.backbone import create_backbone

    weights = need(DEIT_TINY)
    repo = tmp_path / "hub" / "models--timm--deit_tiny_patch16_224.fb_in1k"
    (repo / "snapshots" / ("a" * 40)).mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    (repo / "snapshots" / ("a" * 40) / "model.safetensors").symlink_to(weights)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    by_name = create_backbone("deit_tiny_patch16_224", "timm:deit_tiny_patch16_224.fb_in1k", 32)
    default_tag = create_backbone("deit_tiny_patch16_224", "timm:deit_tiny_patch16_224", 32)
    by_file = create_backbone("deit_tiny_patch16_224", str(weights), 32)
    for a, b, c in zip(
        by_name.state_dict().values(),
        default_tag.state_dict().values(),
        by_file.state_dict().values(),
    ):
        assert torch.equal(a, c) and torch.equal(b, c)
    with pytest.raises(
        FileNotFoundError,
        match=r"timm/vit_tiny_patch16_224\.augreg_in21k/model\.safetensors .*"
        r"offline mode.*hf download",
    ):
        create_backbone("vit_tiny_patch16_224", "timm:vit_tiny_patch16_224.augreg_in21k", 32)
    with pytest.raises(ValueError, match="set backbone=deit_tiny_patch16_224"):
        create_backbone("vit_tiny_patch16_224", "timm:deit_tiny_patch16_224", 32)
    with pytest.raises(ValueError, match="no pretrained weights 'deit_tiny_patch16_224.nope'"):
        create_backbone("deit_tiny_patch16_224", "timm:deit_tiny_patch16_224.nope", 32)


def test_export_never_replaces_what_it_did_not_write(tmp_path, run_dir):
    """The description is {file}.json; an --out or a description that would replace another file
    is refused before any work, and an empty --out never means the current folder."""
    from mosaic_kit.share.export import export_paths

    out, side = export_paths(run_dir, "breastmnist", "onnx", tmp_path / "m.onnx")
    assert side == tmp_path / "m.onnx.json"
    assert export_paths(run_dir, "breastmnist", "torchscript", tmp_path / "m.pt")[1] != side
    results = tmp_path / "results.json"
    results.write_text('{"datasets": {}}')
    with pytest.raises(FileExistsError, match="is not a onnx file"):
        export_paths(run_dir, "breastmnist", "onnx", results)  # would have replaced a run's results
    (tmp_path / "x.onnx.json").write_text('{"mine": 1}')
    with pytest.raises(FileExistsError, match="not an export description"):
        export_paths(run_dir, "breastmnist", "onnx", tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="--out is empty"):
        export_paths(run_dir, "breastmnist", "onnx", "")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        export_paths(run_dir, "breastmnist", "onnx", tmp_path)
    assert results.read_text() == '{"datasets": {}}'


def test_a_synthetic_run_without_results_keeps_numbered_classes(tmp_path, run_dir):
    """An interrupted run on the kit's synthetic data (no results.json) must not answer with
    MedMNIST's findings."""
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "results.json").unlink()
    assert mosaic_kit.load(copy).class_names("breastmnist") == [
        "synthetic class 0",
        "synthetic class 1",
    ]


def test_a_run_travels_with_its_weights_given_on_the_command_line(tmp_path, capsys):
    """The backbone file moved after training: predict, export and eval take --weights PATH (the
    sha256 recorded by the run must match); a negative window is accepted after a space; `keys`
    shows declared defaults and survives a closed pipe."""
    import shutil
    import subprocess
    import sys

    from safetensors.torch import save_file

    from mosaic_kit.cli import _join_negative_values, build_parser
    from mosaic_kit.models.backbone import create_backbone

    torch.manual_seed(3)
    save_file(create_backbone("test_vit", None, 32).state_dict(), str(tmp_path / "vit.safetensors"))
    run = train(
        tiny_cfg(
            tmp_path,
            datasets=["breastmnist"],
            rounds=1,
            steps_per_dataset=2,
            eval_max_samples=16,
            weights=str(tmp_path / "vit.safetensors"),
        ),
        progress=False,
    )
    moved = tmp_path / "elsewhere" / "vit.safetensors"
    moved.parent.mkdir()
    shutil.move(tmp_path / "vit.safetensors", moved)
    np.save(tmp_path / "g.npy", np.full((28, 28), 90, np.uint8))
    assert main(["predict", str(run), str(tmp_path / "g.npy"), "--dataset", "breastmnist"]) == 2
    assert "vit.safetensors" in capsys.readouterr().err
    assert (
        main(
            [
                "predict",
                str(run),
                str(tmp_path / "g.npy"),
                "--dataset",
                "breastmnist",
                "--weights",
                str(moved),
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)[0]["dataset"] == "breastmnist"
    assert (
        main(
            [
                "export",
                str(run),
                "--dataset",
                "breastmnist",
                "--format",
                "torchscript",
                "--weights",
                str(moved),
            ]
        )
        == 0
    )
    assert main(["eval", str(run), "--weights", str(moved)]) == 0
    capsys.readouterr()
    assert (
        build_parser()
        .parse_args(
            _join_negative_values(
                ["predict", "r", "f.png", "--dataset", "breastmnist", "--window", "-1000,400"]
            )
        )
        .window
        == "-1000,400"
    )
    keys = subprocess.run(
        f"{sys.executable} -m mosaic_kit keys | head -n 20",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert keys.returncode == 0 and keys.stderr == "" and "tokenizer_3d_init    auto" in keys.stdout


def test_a_folder_of_images_gives_one_prediction_each_and_a_csv(tmp_path, run_dir, capsys):
    import csv

    folder = tmp_path / "scans"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for name in ("b.png", "a.png", "c.jpg"):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(folder / name)
    out = tmp_path / "pred.csv"
    args = ["predict", str(run_dir), str(folder), "--dataset", "breastmnist", "--csv", str(out)]
    assert main(args) == 0
    table = capsys.readouterr().out.splitlines()
    assert [line.split()[0][-11:] for line in table[1:]] == [
        f"scans/{n}" for n in ("a.png", "b.png", "c.jpg")
    ]
    rows = list(csv.DictReader(out.open()))
    assert [r["input"] for r in rows] == [str(folder / n) for n in ("a.png", "b.png", "c.jpg")]
    probs = [float(rows[0][k]) for k in rows[0] if k.startswith("p(")]
    assert len(probs) == 2 and abs(sum(probs) - 1) < 1e-5 and float(rows[0]["p"]) == max(probs)
    (folder / "notes.txt").write_text("x")  # a stray file: named, nothing predicted or written
    out.unlink()
    assert main(args) == 2
    assert "mixes images with other files (.txt)" in capsys.readouterr().err and not out.exists()
