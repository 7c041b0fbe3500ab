"""A custom dataset's source (class folders or an npz) as an npz in MedMNIST's layout, built once
and cached.

The file is keyed by the spec and the source's listing (names, sizes, modification times), lives
in ``{cache}/custom/{name}-{key}/`` and is then opened, memory-mapped, exactly like an official
file.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..utils.npz import open_npz
from .custom_checks import check_classes, check_layout, integer_labels
from .files import SPLITS, default_cache_dir
from .readers import IntensityWarning, conform, read_array
from .registry import DatasetInfo
from .specs import class_folders, resolved_spec

__all__ = ["build_custom"]


def _listing(source: Path) -> List[str]:
    if source.is_file():
        st = source.stat()
        return [f"{source.name}:{st.st_size}:{st.st_mtime_ns}"]
    return sorted(
        f"{p.relative_to(source)}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
        for p in source.rglob("*")
        if p.is_file()
    )


def _split_indices(labels: np.ndarray, fractions: List[float], seed: int) -> Dict[str, np.ndarray]:
    """A seeded split, stratified by the first label column: each class is cut by the fractions."""
    rng = np.random.default_rng(seed)
    parts: Dict[str, list] = {s: [] for s in SPLITS}
    for c in np.unique(labels[:, 0]):
        idx = rng.permutation(np.flatnonzero(labels[:, 0] == c))
        n_val = int(round(fractions[1] * len(idx)))
        n_test = int(round(fractions[2] * len(idx)))
        parts["val"].append(idx[:n_val])
        parts["test"].append(idx[n_val : n_val + n_test])
        parts["train"].append(idx[n_val + n_test :])
    return {s: np.sort(np.concatenate(p)) for s, p in parts.items()}


def _from_folders(
    source: Path,
    info: DatasetInfo,
    size: int,
    names: List[str],
    window: Optional[Tuple[float, float]],
) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    from ..utils.progress import progress_bar

    roots = {s: source / s for s in SPLITS} if (source / "train").is_dir() else {"all": source}
    images: Dict[str, list] = {}
    labels: Dict[str, list] = {}
    scaled = 0
    for split, root in roots.items():
        if not root.is_dir():
            raise ValueError(
                f"{source} has train/ but no {split}/ folder: give all three splits, or none."
            )
        folders = (
            class_folders(root)
            if split == "all"
            else {p.name: p for p in sorted(root.iterdir()) if p.is_dir()}
        )
        unknown = set(folders) - set(names)
        if unknown:
            raise ValueError(
                f"{root} has class folders {sorted(unknown)} not in class_names {names}."
            )
        files = [
            (f, names.index(c))
            for c, folder in folders.items()
            for f in sorted(folder.iterdir())
            if not f.name.startswith(".")
        ]
        for f, label in progress_bar(files, desc=f"{info.name} {split}", unit="file", leave=False):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", IntensityWarning)
                images.setdefault(split, []).append(
                    conform(read_array(f), info, size, window, str(f))
                )
            scaled += any(issubclass(w.category, IntensityWarning) for w in caught)
            labels.setdefault(split, []).append([label])
    if scaled:
        warnings.warn(
            f"{info.name}: {scaled} files were not 8-bit and were min-max scaled one by one; give "
            "the spec a window: [LOW, HIGH] to scale every file alike.",
            IntensityWarning,
            stacklevel=3,
        )
    return (
        {s: np.stack(v) for s, v in images.items()},
        {s: np.asarray(v, dtype=np.int64) for s, v in labels.items()},
    )


def _from_npz(
    source: Path, info: DatasetInfo, size: int, window: Optional[Tuple[float, float]]
) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    with open_npz(
        source,
        "npz archive of images and labels",
        "Save it with numpy.savez(path, train_images=..., "
        "train_labels=..., ...) from numeric arrays.",
    ) as z:
        keys = [s for s in SPLITS if f"{s}_images" in z.files] or (
            ["all"] if "images" in z.files else []
        )
        if (
            not keys
            or any(f"{s}_labels" not in z.files and s != "all" for s in keys)
            or (keys == ["all"] and "labels" not in z.files)
        ):
            raise ValueError(
                f"{source} holds {', '.join(z.files)}; give train_/val_/test_images and _labels "
                "(MedMNIST's layout) or images and labels (split by the spec's fractions)."
            )
        raw = {
            s: (
                z["images" if s == "all" else f"{s}_images"],
                z["labels" if s == "all" else f"{s}_labels"],
            )
            for s in keys
        }
    images, labels = {}, {}
    for s, (x, y) in raw.items():
        key = "images" if s == "all" else f"{s}_images"
        check_layout(source, key, x, y, info)
        want = (size,) * 3 if info.is_3d else (size, size) + ((3,) if info.n_channels == 3 else ())
        ready = x.dtype == np.uint8 and x.shape[1:] == want and window is None
        images[s] = (
            x
            if ready
            else np.stack(
                [conform(a, info, size, window, f"{source}[{s} {i}]") for i, a in enumerate(x)]
            )
        )
        key = "labels" if s == "all" else f"{s}_labels"
        labels[s] = integer_labels(np.asarray(y).reshape(len(y), -1), f"{source} ({key})")
    return images, labels


def build_custom(info: DatasetInfo, size: int, cache_dir: Optional[str | Path] = None) -> Path:
    """The folder holding ``info``'s npz at ``size`` (built from its source on first use)."""
    spec = resolved_spec(info.name)
    source = Path(spec["source"])
    if not source.exists():
        raise FileNotFoundError(
            f"The source of custom dataset {info.name}, {source}, does not exist; point the "
            "spec's source at it (a trained model still loads for prediction without it)."
        )
    key = hashlib.sha1(
        json.dumps([spec, size, _listing(source)], sort_keys=True, default=str).encode()
    ).hexdigest()
    folder = Path(cache_dir or default_cache_dir()) / "custom" / f"{info.name}-{key[:12]}"
    target = folder / info.file_name(size)
    if target.is_file():
        return folder
    window = tuple(spec["window"]) if spec.get("window") else None
    names = spec["class_names"]
    images, labels = (
        _from_npz(source, info, size, window)
        if source.is_file()
        else _from_folders(source, info, size, names, window)
    )
    check_classes(info, labels, names, source)
    if "all" in images:
        parts = _split_indices(labels["all"], spec["split"], int(spec["seed"]))
        images = {s: images["all"][i] for s, i in parts.items()}
        labels = {s: labels["all"][i] for s, i in parts.items()}
    for s in SPLITS:
        if s not in images or len(images[s]) == 0:
            raise ValueError(
                f"{info.name}: the {s} split of {source} is empty; add samples (a {s}/ folder "
                "of class folders with files) or change the spec's `split` fractions."
            )
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{target.name}.{os.getpid()}.part.npz"
    try:
        np.savez(
            tmp,
            **{f"{s}_images": images[s] for s in SPLITS},
            **{f"{s}_labels": labels[s] for s in SPLITS},
        )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    (folder / "spec.json").write_text(json.dumps(spec, indent=1))
    return folder
