"""Where a run's numbers come from: the data files (official, same splits, the kit's synthetic suite, custom) and
the backbone weights (file, sha256, pretrained or random)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from ..hub import resolve_weights
from .files import SPLITS, Split

__all__ = ["PROVENANCES", "REAL", "dataset_provenance", "weights_provenance", "file_digest"]

#: official: the file's md5 is medmnist's; same-splits: another file with the official split sizes; synthetic:
#: the kit's suite (recognised by its marker array wherever it lies); custom: anything else (subsets, own data).
PROVENANCES = ("official", "same-splits", "synthetic", "custom")
#: The provenances beside which published numbers on the real datasets may be shown.
REAL = ("official", "same-splits")


def file_digest(path: str | Path, algorithm: str = "md5", cache: Optional[Path] = None) -> str:
    """Hex digest of a file, streamed; kept in ``cache/{algorithm}.txt`` when a (content-keyed) folder is given."""
    stored = cache / f"{algorithm}.txt" if cache is not None else None
    if stored is not None and stored.is_file():
        return stored.read_text().strip()
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    if stored is not None:
        stored.write_text(h.hexdigest() + "\n")
    return h.hexdigest()


def dataset_provenance(splits: Mapping[str, Split]) -> str:
    """The provenance of one dataset from its opened splits (all three for ``same-splits``)."""
    first = next(iter(splits.values()))
    if any(s.synthetic for s in splits.values()):
        return "synthetic"
    if first.info.is_custom:
        return "custom"
    info, size = first.info, int(first.images.shape[1])
    if first.path is not None and size in info.sizes and \
            file_digest(first.path, "md5", first.cache) == info.md5(size):
        return "official"
    if set(SPLITS) <= set(splits) and all(len(splits[s]) == info.n_samples[s] for s in SPLITS):
        return "same-splits"
    return "custom"


def weights_provenance(backbone: str, weights: Optional[str]) -> Dict[str, Any]:
    """``{"backbone", "weights", "sha256", "pretrained"}``: a run without a weights file has a random backbone."""
    if not weights:
        return {"backbone": backbone, "weights": None, "sha256": None, "pretrained": False}
    return {"backbone": backbone, "weights": str(weights),
            "sha256": file_digest(resolve_weights(str(weights), backbone), "sha256"), "pretrained": True}
