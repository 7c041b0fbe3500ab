"""What a spec's source holds: class folders, their first sample, and the channels of its images."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping

import numpy as np

from ..utils.npz import open_npz

__all__ = ["class_folders"]


def class_folders(source: Path) -> Dict[str, Path]:
    """``{class name: folder}`` of a class-per-folder source (the class folders of ``train/``
    when split)."""
    base = source / "train" if (source / "train").is_dir() else source
    return {p.name: p for p in sorted(base.iterdir()) if p.is_dir() and not p.name.startswith(".")}


def _first_sample(source: Path) -> Path:
    for folder in class_folders(source).values():
        for f in sorted(folder.iterdir()):
            if not f.name.startswith("."):
                return f
    raise ValueError(f"{source} has no sample files inside its class folders.")


def _channels(spec: Mapping[str, Any], source: Path) -> int:
    """1 or 3: from the spec, else from the source (an npz's image shape, or the first image's
    colour mode)."""
    if spec["modality"] == "3d":
        return 1
    if "channels" in spec:
        return int(spec["channels"])
    if source.suffix == ".npz":
        with open_npz(
            source,
            "npz archive of images and labels",
            "Save it with numpy.savez(path, train_images=..., "
            "train_labels=..., ...) from numeric arrays.",
        ) as z:
            key = "train_images" if "train_images" in z.files else "images"
            if key not in z.files:
                raise ValueError(
                    f"{source} has no 'train_images' or 'images' array (it holds "
                    f"{', '.join(z.files)})."
                )
            shape = z[key].shape
        return 3 if len(shape) == 4 and shape[-1] == 3 else 1
    sample = _first_sample(source)
    if sample.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"):
        from PIL import Image

        with Image.open(sample) as im:
            return 3 if im.mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr") else 1
    return 3 if np.load(sample, mmap_mode="r").shape[-1:] == (3,) else 1
