"""Bad data files: each gets one clear error naming the file, the problem and the fix; good files
still open."""

import numpy as np
import pytest

from mosaic_kit.data import open_split


def _npz(path, images, labels, split="train", **extra):
    np.savez(path, **{f"{split}_images": images, f"{split}_labels": labels}, **extra)
    return path.parent


def _img(n=4, s=28, rgb=False):
    return np.zeros((n, s, s, 3) if rgb else (n, s, s), np.uint8)


def test_a_good_file_opens(tmp_path):
    root = _npz(tmp_path / "breastmnist.npz", _img(), np.array([[0], [1], [1], [0]], np.uint8))
    split = open_split(root, "breastmnist", "train", cache_dir=tmp_path / "c")
    assert len(split) == 4 and split.labels.dtype == np.int64 and split.labels.shape == (4, 1)


@pytest.mark.parametrize(
    "name, images, labels, message",
    [
        (
            "breastmnist",
            _img().astype(np.float32),
            np.zeros((4, 1), np.uint8),
            r"dtype float32; official .* uint8",
        ),
        ("breastmnist", _img(0), np.zeros((0, 1), np.uint8), "split is empty"),
        (
            "breastmnist",
            _img(),
            np.array([[0], [1], [2], [0]]),
            r"range from 0 to 2, but BreastMNIST .* allows 0\.\.1",
        ),
        ("breastmnist", _img(), np.array([[0], [-1], [1], [0]]), r"range from -1 to 1"),
        ("breastmnist", _img(), np.zeros((3, 1), np.uint8), "4 images but 3 labels"),
        ("breastmnist", _img(), np.zeros((4, 1), np.float32), "labels must be integers"),
        ("chestmnist", _img(), np.zeros((4, 3), np.uint8), "3 columns, expected 14"),
        ("chestmnist", _img(), np.full((4, 14), 2, np.uint8), r"allows 0\.\.1"),
        (
            "breastmnist",
            np.zeros((4, 28, 28, 28), np.uint8),
            np.zeros((4, 1), np.uint8),
            "3D volumes, but BreastMNIST is a 2D",
        ),
        (
            "adrenalmnist3d",
            _img(),
            np.zeros((4, 1), np.uint8),
            "2D images, but AdrenalMNIST3D is a 3D",
        ),
        ("pathmnist", _img(), np.zeros((4, 1), np.uint8), r"expected \(N, S, S, 3\) with S=28"),
        (
            "breastmnist",
            _img(s=64),
            np.zeros((4, 1), np.uint8),
            r"S=28 .* check the file's size suffix",
        ),
    ],
)
def test_bad_arrays_are_named(tmp_path, name, images, labels, message):
    root = _npz(tmp_path / f"{name}.npz", images, labels)
    with pytest.raises(ValueError, match=message) as err:
        open_split(root, name, "train", cache_dir=tmp_path / "c")
    assert str(tmp_path / f"{name}.npz") in str(err.value)


def test_missing_key_lists_what_is_there(tmp_path):
    root = _npz(tmp_path / "breastmnist.npz", _img(), np.zeros((4, 1), np.uint8), split="val")
    with pytest.raises(
        ValueError, match=r"no 'train_images' array \(it holds: val_images, val_labels\)"
    ):
        open_split(root, "breastmnist", "train", cache_dir=tmp_path / "c")


def test_not_a_zip_at_all(tmp_path):
    (tmp_path / "breastmnist.npz").write_bytes(b"<html>404 not found</html>")
    with pytest.raises(ValueError, match="not a readable npz archive .* download it again"):
        open_split(tmp_path, "breastmnist", "train", cache_dir=tmp_path / "c")


@pytest.mark.parametrize("damage", ["cut short", "changed in place", "cut short before stamps"])
def test_a_damaged_cached_copy_is_converted_again_from_its_source(tmp_path, capsys, damage):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    root = _npz(tmp_path / "breastmnist.npz", images, np.array([[0], [1]] * 3, np.uint8))
    first = open_split(root, "breastmnist", "train", cache_dir=tmp_path / "c")
    copy = first.cache / "train_images.npy"
    data = copy.read_bytes()
    del first
    if damage == "changed in place":
        copy.write_bytes(data[:-784] + bytes(784))  # same size, the last image zeroed
    else:
        copy.write_bytes(data[: len(data) // 2])
        if damage == "cut short before stamps":
            copy.with_name(copy.name + ".stamp").unlink()
    again = open_split(root, "breastmnist", "train", cache_dir=tmp_path / "c")
    assert np.array_equal(again.images, images)
    assert "converting it again" in capsys.readouterr().err
    open_split(root, "breastmnist", "train", cache_dir=tmp_path / "c")  # intact now: no note
    assert "converting it again" not in capsys.readouterr().err
