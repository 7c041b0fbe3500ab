"""Published reference numbers shipped in ``mosaic_kit/data/reference``: MedMNIST v2's ResNet-18
(labelled with its resolution), MedMNIST+'s best 28-px AUCs and the MOSAIC paper's reported
means."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict, List

from ..data.registry import get_info

__all__ = [
    "REFERENCE_DIR",
    "reference_resnet18",
    "reference_acs",
    "reference_medmnist_plus",
    "reference_paper_means",
]

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "reference"


def _read_csv(path: Path) -> List[dict]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(lines))


def reference_resnet18(resolution: int = 28) -> Dict[str, Dict[str, float]]:
    """MedMNIST v2's ResNet-18 test ACC/AUC for 2D images at ``resolution`` (28 or 224 px); the
    3D datasets get ResNet-18+3D (28^3) at 28 and nothing at 224."""
    if resolution not in (28, 224):
        raise ValueError(f"MedMNIST v2 reports ResNet-18 at 28 and 224 px, not {resolution}.")
    rows = _read_csv(REFERENCE_DIR / "medmnist_v2_baselines.csv")
    out = {}
    for r in rows:
        is_3d = get_info(r["dataset"]).is_3d
        want = ("resnet18_3d" if resolution == 28 else None) if is_3d else f"resnet18_{resolution}"
        if r["method"] == want:
            out[r["dataset"]] = {"acc": float(r["acc"]), "auc": float(r["auc"])}
    return out


def reference_acs() -> Dict[str, Dict[str, float]]:
    """MedMNIST v2's ResNet-18 with ACS convolutions (2D kernels split over the axial, coronal
    and sagittal planes; 28^3) test ACC/AUC for the 3D datasets: on AdrenalMNIST3D the best
    published 3D AUC."""
    return {
        r["dataset"]: {"acc": float(r["acc"]), "auc": float(r["auc"])}
        for r in _read_csv(REFERENCE_DIR / "medmnist_v2_baselines.csv")
        if r["method"] == "resnet18_acs"
    }


def reference_medmnist_plus() -> Dict[str, Dict[str, float]]:
    """The MedMNIST+ benchmark's best end-to-end test AUC at 28 x 28 px (Doerrich et al., 2024),
    for the 2D datasets the kit's real-data reports cover; AUC only (its ACC is thresholded at
    0.5)."""
    return {
        r["dataset"]: {"auc": float(r["auc"])}
        for r in _read_csv(REFERENCE_DIR / "medmnist_plus_best28.csv")
    }


def reference_paper_means(method: str = "mosaic") -> Dict[str, Dict[str, float]]:
    """The MOSAIC paper's reported means (as fractions) for ``method``, by group all / 2d / 3d."""
    scope = {"all18": "all", "2d12": "2d", "3d6": "3d"}
    return {
        scope[r["scope"]]: {"acc": float(r["acc"]) / 100, "auc": float(r["auc"]) / 100}
        for r in _read_csv(REFERENCE_DIR / "mosaic_paper_reported.csv")
        if r["method"] == method and r["training"] == "joint"
    }
