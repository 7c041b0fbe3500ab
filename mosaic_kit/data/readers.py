"""Your own images and volumes, read and brought into MedMNIST's layout for a given dataset.

``read_array(path)`` reads PNG/JPEG/TIFF/BMP (Pillow; a multi-page TIFF is a volume), ``.npy``,
NIfTI ``.nii``/``.nii.gz`` (nibabel) and DICOM (pydicom; a folder holding one series is a
volume). ``conform`` then does what MedMNIST's preprocessing did to its own files: 8-bit
intensities (an explicit window, or min-max with a warning), grayscale or RGB as the dataset has
it (alpha dropped), and a square image / cubic volume at the dataset's file size.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .medical_formats import _dicom_pixels, _read_dicom_series, _read_nifti, write_nifti
from .registry import DatasetInfo

__all__ = [
    "IMAGE_SUFFIXES",
    "read_array",
    "write_nifti",
    "to_uint8",
    "conform",
    "split_batch",
    "as_array",
    "IntensityWarning",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
_FORMATS = (
    "PNG/JPEG/TIFF/BMP, .npy, NIfTI (.nii, .nii.gz) or DICOM (a .dcm file, or a folder of one "
    "series)"
)


class IntensityWarning(UserWarning):
    """Intensities that are not 8-bit were min-max scaled: give a window for reproducible
    scaling."""


def _is_dicom(path: Path) -> bool:
    if path.suffix.lower() in (".dcm", ".dicom"):
        return True
    with open(path, "rb") as f:  # the DICOM preamble: 128 bytes, then "DICM"
        head = f.read(132)
    return len(head) == 132 and head[128:] == b"DICM"


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        frames = [_pil_array(f) for f in ImageSequence.Iterator(im)]
    return frames[0] if len(frames) == 1 else np.stack(frames)  # a multi-page TIFF is a volume


def _pil_array(im: Any) -> np.ndarray:
    """An image as an array, alpha dropped: (H, W) grayscale or (H, W, 3) RGB; 16-bit and float
    kept as they are."""
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "CMYK", "YCbCr", "HSV", "LAB", "1"):
        im = im.convert("L" if im.mode in ("LA", "1") else "RGB")
    return np.asarray(im)


def read_array(path: str | Path) -> np.ndarray:
    """One file (or DICOM series folder) as an array: (H, W) or (H, W, 3) for an image, (D, H, W)
    for a volume; intensities as stored (DICOM in its modality's units, e.g. Hounsfield)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    name = path.name.lower()
    try:
        if path.is_dir():
            return _read_dicom_series(path)
        if name.endswith((".nii", ".nii.gz")):
            return _read_nifti(path)
        if name.endswith(".npy"):
            return _read_npy(path)
        if name.endswith(IMAGE_SUFFIXES):
            return _read_image(path)
        if _is_dicom(path):
            import pydicom

            return _dicom_pixels(pydicom.dcmread(path))
    except (ValueError, FileNotFoundError):
        raise
    except Exception as err:  # noqa: BLE001 - every reader's own error becomes one clear message
        raise ValueError(
            f"{path} could not be read ({type(err).__name__}: {err}). Give {_FORMATS}."
        ) from None
    raise ValueError(f"{path}: unknown file type '{path.suffix}'. Give {_FORMATS}.")


def _read_npy(path: Path) -> np.ndarray:
    """A ``.npy`` array; never a pickle (numpy's own message would advise loading one unsafely)."""
    try:
        return np.load(path, allow_pickle=False)
    except ValueError:
        with open(path, "rb") as fh:
            npy = fh.read(6) == b"\x93NUMPY"
        what = (
            "it holds Python objects (a pickle), which the kit never loads"
            if npy
            else "it is not a NumPy .npy file"
        )
        raise ValueError(
            f"{path} could not be read as a .npy array: {what}. Save the pixels with "
            "numpy.save(path, array) from a numeric array."
        ) from None


def to_uint8(
    array: np.ndarray, window: Optional[Tuple[float, float]] = None, source: str = "input"
) -> np.ndarray:
    """8-bit intensities: clip to ``window=(low, high)`` and scale; 8-bit data as it is; anything
    else min-max scaled with an ``IntensityWarning`` (CT in Hounsfield units, 16-bit microscopy,
    floats)."""
    a = np.asarray(array)
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise ValueError(f"{source} has dtype {a.dtype}; give numeric pixel data.")
    if a.size == 0:
        raise ValueError(f"{source} is empty (shape {a.shape}).")
    if window is not None:
        low, high = map(float, window)
        if not (np.isfinite(low) and np.isfinite(high) and high > low):
            raise ValueError(
                f"window {window}: give finite LOW,HIGH with HIGH > LOW, e.g. -1000,400 for a CT "
                "lung window."
            )
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            raise ValueError(
                f"{source} holds NaN or infinite values; clean it first (a window cannot place "
                "them)."
            )
        a = (np.clip(a.astype(np.float32), low, high) - low) / (high - low)
        return np.round(a * 255).astype(np.uint8)
    if a.dtype == np.uint8:
        return a
    if not np.isfinite(a).all():
        raise ValueError(f"{source} holds NaN or infinite values; clean it or give a window.")
    lo, hi = float(a.min()), float(a.max())
    if np.issubdtype(a.dtype, np.integer) and lo >= 0 and hi <= 255:
        return a.astype(np.uint8)
    warnings.warn(
        f"{source}: intensities {lo:g}..{hi:g} are not 8-bit; min-max scaled to 0..255. Give a "
        "window (--window LOW,HIGH, e.g. -1000,400 for CT in Hounsfield units) to scale every "
        "input alike.",
        IntensityWarning,
        stacklevel=2,
    )
    return np.round((a.astype(np.float32) - lo) / max(hi - lo, 1e-12) * 255).astype(np.uint8)


def _looks_2d(a: np.ndarray) -> bool:
    return a.ndim == 2 or (a.ndim == 3 and a.shape[-1] in (1, 3, 4) and min(a.shape[:2]) > 4)


def conform(
    array: np.ndarray,
    info: DatasetInfo,
    size: int,
    window: Optional[Tuple[float, float]] = None,
    source: str = "input",
) -> np.ndarray:
    """An image or volume in the layout of ``info``'s files at ``size``: uint8 (size, size)
    grayscale, (size, size, 3) RGB, or (size, size, size) for a 3D dataset."""
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[-1] == 4 and _looks_2d(a):
        a = a[..., :3]  # RGBA array: alpha dropped
    is_2d = _looks_2d(a)
    if info.is_3d and is_2d:
        raise ValueError(
            f"{source} is a 2D image {a.shape} but {info.name} is a 3D dataset: give a volume "
            "(NIfTI, a DICOM series folder, a (D, H, W) .npy or a multi-page TIFF)."
        )
    if info.is_3d and (a.ndim != 3 or min(a.shape) < 4):
        raise ValueError(
            f"{source} has shape {a.shape}, which is not a volume (D, H, W) with at least 4 voxels "
            f"along each axis (one slice, or a stack of a few?); {info.name} is a 3D dataset: give "
            "the whole volume."
        )
    if not info.is_3d and not is_2d:
        raise ValueError(
            f"{source} has 2 channels {a.shape}; {info.name} takes grayscale (H, W) or RGB "
            "(H, W, 3) images: keep one channel, or make three."
            if a.ndim == 3 and a.shape[-1] == 2
            else f"{source} is a {a.ndim}-D array {a.shape}, not a 2D image, but {info.name} is a "
            "2D dataset: give one image (H, W) or (H, W, 3), or a 3D dataset's name for a volume."
        )
    a = to_uint8(a, window, source)
    if info.is_3d:
        t = torch.from_numpy(a.astype(np.float32))[None, None]
        # shrinking: average each cell (no aliasing); growing: trilinear
        smaller = all(s >= size for s in a.shape)
        t = F.interpolate(
            t,
            size=(size,) * 3,
            mode="area" if smaller else "trilinear",
            **({} if smaller else {"align_corners": False}),
        )
        return t[0, 0].round().clamp(0, 255).to(torch.uint8).numpy()
    from PIL import Image

    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    im = Image.fromarray(a)
    im = im.convert("RGB" if info.n_channels == 3 else "L")
    if im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(im)


def split_batch(x: Any, is_3d: bool) -> List[Any]:
    """A list of samples from what a user passes: a list/tuple is a batch; an array with one more
    dimension than one sample (``(N, H, W[, C])`` for 2D, ``(N, D, H, W)`` for 3D) is a batch;
    anything else is one sample."""
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        if x.ndim == 4 or (not is_3d and x.ndim == 3 and not _looks_2d(x)):
            return list(x)
    return [x]


def as_array(item: Any) -> Tuple[np.ndarray, str]:
    """(array, name) of one sample: a path (read), a PIL image, an array or a tensor."""
    if isinstance(item, (str, Path)):
        return read_array(item), str(item)
    if isinstance(item, torch.Tensor):
        a = item.detach().cpu().numpy()
        if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] > 4:
            a = a.transpose(1, 2, 0)  # torch's channels-first image
        return a, "tensor"
    if isinstance(item, np.ndarray):
        return item, "array"
    if hasattr(item, "mode") and hasattr(item, "size"):  # a PIL image
        return _pil_array(item), "image"
    raise TypeError(
        f"Cannot read a {type(item).__name__}: give a path, a PIL image, a numpy array or a tensor."
    )
