import hashlib
import threading
import time

import numpy as np
import pytest
import torch
from conftest import REAL_MEDMNIST, need

from mosaic_kit.data import (
    BatchStream,
    MissingDataError,
    Normalization,
    download,
    make_dataset,
    open_datasets,
    open_split,
    prepare_2d,
    prepare_3d,
    write_suite,
)
from mosaic_kit.data.registry import ALL_DATASETS, get_info


def _anon_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status RssAnon on this platform")


NORM = Normalization((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def test_real_files_memory_mapped_and_equal_to_npz():
    root = need(REAL_MEDMNIST)
    for name, n in (
        ("breastmnist", (546, 78, 156)),
        ("pneumoniamnist", (4708, 524, 624)),
        ("adrenalmnist3d", (1188, 98, 298)),
        ("retinamnist", (1080, 120, 400)),
    ):
        ref = np.load(root / f"{name}.npz")
        for split, count in zip(("train", "val", "test"), n):
            s = open_split(root, name, split)
            assert isinstance(s.images, np.memmap) and len(s) == count
            np.testing.assert_array_equal(s.images, ref[f"{split}_images"])
            np.testing.assert_array_equal(s.labels[:, 0], ref[f"{split}_labels"].reshape(-1))
    assert open_split(root, "adrenalmnist3d", "test").images.shape[1:] == (28, 28, 28)
    # RGB: specialist A
    assert open_split(root, "retinamnist", "test").images.shape[1:] == (
        28,
        28,
        3,
    )


def test_missing_file_names_it_and_the_fix(tmp_path):
    with pytest.raises(MissingDataError) as err:
        open_split(tmp_path, "breastmnist", "train", 224)
    msg = str(err.value)
    assert (
        "breastmnist_224.npz" in msg and "python -m mosaic_kit download" in msg and "zenodo" in msg
    )


def test_size_not_offered_and_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="offered at sizes 28, 64"):
        open_split(tmp_path, "adrenalmnist3d", "train", 128)
    with pytest.raises(ValueError, match="Unknown split"):
        open_split(tmp_path, "breastmnist", "training")


def test_truncated_npz_is_a_clear_error(tmp_path):
    data = (need(REAL_MEDMNIST) / "breastmnist.npz").read_bytes()
    (tmp_path / "breastmnist.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated|not a readable npz"):
        open_split(tmp_path, "breastmnist", "train")


def test_download_from_a_local_url_checks_md5(tmp_path, monkeypatch):
    """The real download path (torchvision's download_url + medmnist's MD5), served from a
    file:// URL."""
    src = need(REAL_MEDMNIST) / "adrenalmnist3d.npz"  # byte-identical to the official file
    assert hashlib.md5(src.read_bytes()).hexdigest() == get_info("adrenalmnist3d").md5(28)
    got = download("adrenalmnist3d", 28, tmp_path / "root", url=src.resolve().as_uri())
    assert got.read_bytes() == src.read_bytes()
    bad = tmp_path / "breastmnist.npz"
    bad.write_bytes(b"not the real file")
    with pytest.raises(RuntimeError):
        download("breastmnist", 28, tmp_path / "root2", url=bad.resolve().as_uri())


def test_large_split_is_not_loaded_into_memory(tmp_path):
    """A 224-size split goes through the .npy cache chunk by chunk: resident memory stays far
    below its size."""
    n = 3000  # 3000 x 224 x 224 x 3 = 450 MB
    rng = np.random.default_rng(0)
    path = tmp_path / "pathmnist_224.npz"
    images = np.broadcast_to(
        rng.integers(0, 255, (1, 224, 224, 3), dtype=np.uint8), (n, 224, 224, 3)
    )
    np.savez(
        path,
        train_images=images,
        train_labels=np.zeros((n, 1), np.uint8),
        val_images=images[:2],
        val_labels=np.zeros((2, 1), np.uint8),
    )
    del images
    before = _anon_mb()
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak.append(_anon_mb())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        s = open_split(tmp_path, "pathmnist", "train", 224, cache_dir=tmp_path / "cache")
        stream = BatchStream(s, 64, 0)
        for _ in range(10):
            stream.next_batch()
    finally:
        done.set()
        sampler.join()
    assert s.images.shape == (n, 224, 224, 3)
    # anonymous memory: mapped file pages are page cache, not the process's
    grown = max(peak) - before
    assert grown < 180, f"anonymous memory grew by {grown:.0f} MB for a 450 MB split"


def test_synthetic_suite_layout_and_determinism(tmp_path):
    root = write_suite(tmp_path, ALL_DATASETS, split_sizes={"train": 8, "val": 4, "test": 4})
    assert sorted(p.name for p in root.glob("*.npz")) == sorted(f"{n}.npz" for n in ALL_DATASETS)
    for name in ALL_DATASETS:
        info = get_info(name)
        d = np.load(root / f"{name}.npz")
        img, lab = d["train_images"], d["train_labels"]
        assert img.dtype == np.uint8 and lab.dtype == np.uint8
        expected = (
            (8, 28, 28, 28)
            if info.is_3d
            else (8, 28, 28, 3)
            if info.n_channels == 3
            else (8, 28, 28)
        )
        assert img.shape == expected
        assert (
            lab.shape == ((8, 14) if info.is_multilabel else (8, 1)) and lab.max() < info.n_classes
        )
    a = make_dataset("organamnist", 64, seed=3, split_sizes={"train": 5})
    b = make_dataset("organamnist", 64, seed=3, split_sizes={"train": 5})
    np.testing.assert_array_equal(a["train_images"], b["train_images"])
    assert a["train_images"].shape == (5, 64, 64)


def test_synthetic_classes_are_visible():
    """A nearest-class-mean classifier on raw pixels beats chance clearly on every style of
    dataset."""
    for name in ("pathmnist", "breastmnist", "nodulemnist3d"):
        d = make_dataset(name, 28, 0, {"train": 200, "test": 100})
        x = {
            s: d[f"{s}_images"].reshape(len(d[f"{s}_images"]), -1).astype(float)
            for s in ("train", "test")
        }
        x = {s: v - v.mean(1, keepdims=True) for s, v in x.items()}
        y = {s: d[f"{s}_labels"][:, 0] for s in ("train", "test")}
        # translation-invariant: objects sit at random places
        feats = {
            s: np.abs(
                np.fft.fftn(
                    x[s].reshape((len(x[s]),) + d["train_images"].shape[1:]),
                    axes=tuple(range(1, d["train_images"].ndim)),
                )
            ).reshape(len(x[s]), -1)
            for s in x
        }
        means = np.stack([feats["train"][y["train"] == c].mean(0) for c in np.unique(y["train"])])
        pred = np.argmin(((feats["test"][:, None] - means[None]) ** 2).sum(-1), 1)
        chance = 1 / len(means)
        assert (pred == y["test"]).mean() > chance + 0.25, name


def test_open_datasets_embedded_suite():
    data = open_datasets("synthetic", ["breastmnist", "synapsemnist3d"])
    assert set(data) == {"breastmnist", "synapsemnist3d"} and len(data["breastmnist"]["val"]) == 64
    with pytest.raises(MissingDataError, match="not a folder"):
        open_datasets("/nonexistent/folder", ["breastmnist"])


def test_batch_stream_resumes_exactly():
    split = open_datasets("synthetic", ["breastmnist"], splits=("train",))["breastmnist"]["train"]
    a = BatchStream(split, 48, seed=1)
    first = [a.next_batch()[1] for _ in range(9)]  # crosses an epoch boundary (320 // 48 = 6)
    b = BatchStream(split, 48, seed=1)
    for _ in range(4):
        b.next_batch()
    c = BatchStream(split, 48, seed=1)
    c.load_state_dict(b.state_dict())
    for ref in first[4:]:
        torch.testing.assert_close(c.next_batch()[1], ref)
    assert a.epoch == 1


def test_transforms_shapes_order_and_normalisation():
    x = torch.full((4, 28, 28), 255, dtype=torch.uint8)
    out = prepare_2d(x, 64, NORM)
    assert out.shape == (4, 3, 64, 64)
    torch.testing.assert_close(
        out[:, :, 10, 10], ((1 - torch.tensor(NORM.mean)) / torch.tensor(NORM.std)).expand(4, 3)
    )
    # augmentation before normalisation: a constant image stays constant under flips/rotation
    # (reflection pad)
    aug = prepare_2d(x, 64, NORM, augment=True, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(aug, out)
    rgb = torch.randint(0, 255, (2, 28, 28, 3), dtype=torch.uint8)
    g1 = prepare_2d(rgb, 32, NORM, augment=True, generator=torch.Generator().manual_seed(5))
    g2 = prepare_2d(rgb, 32, NORM, augment=True, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(g1, g2)
    v = torch.randint(0, 255, (2, 28, 28, 28), dtype=torch.uint8)
    assert prepare_3d(v, 32, NORM).shape == (2, 1, 32, 32, 32)
    assert prepare_3d(
        v, 28, NORM, augment=True, generator=torch.Generator().manual_seed(0)
    ).shape == (2, 1, 28, 28, 28)


def test_provenance_of_real_files_and_of_an_official_md5(tmp_path, monkeypatch):
    import shutil

    from mosaic_kit.data import dataset_provenance

    src = need(REAL_MEDMNIST / "breastmnist.npz")
    splits = {
        s: open_split(src.parent, "breastmnist", s, cache_dir=tmp_path / "c")
        for s in ("train", "val", "test")
    }
    assert dataset_provenance(splits) == "same-splits"  # the official split sizes, another file
    # sizes unknown without every split
    assert dataset_provenance({"train": splits["train"]}) == "custom"
    copy = tmp_path / "breastmnist.npz"
    shutil.copy(src, copy)
    digest = hashlib.md5(copy.read_bytes()).hexdigest()
    # as if this were the Zenodo file
    from mosaic_kit.data import registry  # the kit's copy of medmnist's INFO (read without torch)

    monkeypatch.setitem(registry.INFO["breastmnist"], "MD5", digest)
    splits = {
        s: open_split(tmp_path, "breastmnist", s, cache_dir=tmp_path / "c2")
        for s in ("train", "val", "test")
    }
    assert dataset_provenance(splits) == "official"
    assert (
        splits["train"].cache / "md5.txt"
    ).read_text().strip() == digest  # computed once per content


@pytest.mark.parametrize("name", ["breastmnist", "pneumoniamnist", "adrenalmnist3d", "retinamnist"])
def test_same_splits_checks_the_official_label_counts(tmp_path, name):
    """Split sizes alone do not make a file the official one: the class counts of every split
    must match too."""
    from mosaic_kit.data import dataset_provenance
    from mosaic_kit.data.provenance import same_splits_check

    src = need(REAL_MEDMNIST / f"{name}.npz")
    splits = {
        s: open_split(src.parent, name, s, cache_dir=tmp_path / "c")
        for s in ("train", "val", "test")
    }
    assert same_splits_check(name, splits) == "split sizes and label counts"
    assert dataset_provenance(splits) in ("official", "same-splits")
    with np.load(src) as z:
        arrays = {k: z[k] for k in z.files}
    y = arrays["test_labels"]
    first = int(np.flatnonzero(y.reshape(-1) == 0)[0])
    y.reshape(-1)[first] = 1  # one test label flipped: same sizes, other counts
    np.savez(tmp_path / f"{name}.npz", **arrays)
    flipped = {
        s: open_split(tmp_path, name, s, cache_dir=tmp_path / "c2")
        for s in ("train", "val", "test")
    }
    assert same_splits_check(name, flipped) == "label counts differ"
    assert dataset_provenance(flipped) == "custom"
