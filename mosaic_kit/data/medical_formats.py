"""Medical volume formats: NIfTI files (nibabel) and DICOM files or series (pydicom), read as
arrays; NIfTI written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_nifti"]


def _read_nifti(path: Path) -> np.ndarray:
    """A NIfTI image in the kit's axis order (see ``write_nifti``); 8-bit data without intensity
    scaling stays uint8, anything else is read as float32 with ``scl_slope`` / ``scl_inter``
    applied."""
    import nibabel as nib

    raw = nib.load(str(path))
    slope, inter = raw.header.get_slope_inter()  # (None, None) when the file stores no scaling
    eight_bit = raw.get_data_dtype() == np.uint8 and slope in (None, 1) and inter in (None, 0)
    img = nib.as_closest_canonical(raw)  # RAS orientation, whatever the file stored
    data = (
        np.asarray(img.dataobj).astype(np.uint8)
        if eight_bit
        else np.asarray(img.dataobj, dtype=np.float32)
    )
    data = data.reshape([s for s in data.shape if s != 1] or [1])
    if data.ndim == 2:
        return data.T  # (x, y) -> (rows, columns)
    if data.ndim != 3:
        raise ValueError(
            f"{path} holds a {data.ndim}-D NIfTI array {data.shape}; give one 2D image or 3D "
            "volume."
        )
    # (x, y, z) -> (slices, rows, columns)
    return np.ascontiguousarray(data.transpose(2, 1, 0)[::-1, ::-1])


def write_nifti(array: np.ndarray, path: str | Path) -> Path:
    """Save an image (H, W) or a volume in MedMNIST's layout (D, H, W) as NIfTI so that
    ``read_array`` gives it back exactly, dtype included: the axes become (x = columns, y = rows
    reversed, z = slices reversed) under an identity affine (RAS), the inverse of how the kit
    reads NIfTI; another tool's volume in the RAS convention reads the same way."""
    import nibabel as nib

    a = np.asarray(array)
    if a.ndim == 2:
        xyz = a.T
    elif a.ndim == 3:
        xyz = a[::-1, ::-1].transpose(2, 1, 0)
    else:
        raise ValueError(
            f"write_nifti takes an image (H, W) or a volume (D, H, W); got shape {a.shape}."
        )
    path = Path(path)
    nib.save(nib.Nifti1Image(np.ascontiguousarray(xyz), np.eye(4)), str(path))
    return path


def _dicom_pixels(ds: Any) -> np.ndarray:
    """Stored values through the modality LUT (Hounsfield units etc.) as float32; 8-bit unsigned
    pixels without a rescale (or with slope 1, intercept 0) stay uint8, as the same pixels would
    be in a PNG."""
    from pydicom.pixels import apply_modality_lut

    pixels = ds.pixel_array
    slope, inter = (
        float(getattr(ds, "RescaleSlope", 1) or 1),
        float(getattr(ds, "RescaleIntercept", 0) or 0),
    )
    if (
        int(getattr(ds, "BitsStored", 16)) <= 8
        and int(getattr(ds, "PixelRepresentation", 0)) == 0
        and slope == 1
        and inter == 0
        and "ModalityLUTSequence" not in ds
    ):
        return pixels.astype(np.uint8)
    return apply_modality_lut(pixels, ds).astype(np.float32)


def _read_dicom_series(folder: Path) -> np.ndarray:
    import pydicom

    slices = []
    for f in sorted(p for p in folder.iterdir() if p.is_file()):
        try:
            slices.append(pydicom.dcmread(f))
        except pydicom.errors.InvalidDicomError:
            continue  # a DICOMDIR index, a README, ...: not a slice
    if not slices:
        raise ValueError(f"{folder} holds no DICOM files; a folder is read as one DICOM series.")
    series = {str(getattr(s, "SeriesInstanceUID", "")) for s in slices}
    if len(series) > 1:
        raise ValueError(
            f"{folder} holds {len(series)} DICOM series ({', '.join(sorted(series))[:200]}); put "
            "each series in its own folder."
        )

    def position(s: Any) -> float:
        ipp = getattr(s, "ImagePositionPatient", None)
        return float(ipp[2]) if ipp is not None else float(getattr(s, "InstanceNumber", 0))

    slices.sort(key=position)
    pixels = [_dicom_pixels(s) for s in slices]
    return np.stack(
        pixels if len({p.dtype for p in pixels}) == 1 else [p.astype(np.float32) for p in pixels]
    )
