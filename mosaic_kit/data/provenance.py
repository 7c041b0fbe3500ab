"""Where a run's numbers come from: the data files (official, same splits, the kit's synthetic
suite, custom) and the backbone weights (file, sha256, pretrained or random)."""

from __future__ import annotations

import csv
import functools
import hashlib
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from .files import SPLITS, Split

__all__ = [
    "PROVENANCES",
    "REAL",
    "dataset_provenance",
    "same_splits_check",
    "official_label_counts",
    "file_digest",
]

#: official: the file's md5 is medmnist's; same-splits: another file with the official split sizes
#: and, where the kit knows them (``reference/label_counts.csv``), the official class counts of
#: every split; synthetic: the kit's suite (recognised by its marker array wherever it lies);
#: custom: anything else (subsets, own data).
PROVENANCES = ("official", "same-splits", "synthetic", "custom")
#: The provenances beside which published numbers on the real datasets may be shown.
REAL = ("official", "same-splits")


def file_digest(path: str | Path, algorithm: str = "md5", cache: Optional[Path] = None) -> str:
    """Hex digest of a file, streamed; kept in ``cache/{algorithm}.txt`` when a (content-keyed)
    folder is given."""
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
    if (
        first.path is not None
        and size in info.sizes
        and file_digest(first.path, "md5", first.cache) == info.md5(size)
    ):
        return "official"
    if (
        set(SPLITS) <= set(splits)
        and all(len(splits[s]) == info.n_samples[s] for s in SPLITS)
        and same_splits_check(info.name, splits) != "label counts differ"
    ):
        return "same-splits"
    return "custom"


@functools.lru_cache(maxsize=1)
def official_label_counts() -> Dict[str, Dict[str, Tuple[int, ...]]]:
    """``{dataset: {split: class counts}}`` of the official files the kit ships counts for."""
    path = Path(__file__).resolve().parent / "reference" / "label_counts.csv"
    rows = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    out: Dict[str, Dict[str, Tuple[int, ...]]] = {}
    for r in csv.DictReader(rows):
        out.setdefault(r["dataset"], {})[r["split"]] = tuple(int(c) for c in r["counts"].split())
    return out


def same_splits_check(name: str, splits: Mapping[str, Split]) -> str:
    """What a ``same-splits`` verdict rests on: ``split sizes and label counts``, ``split sizes
    only`` (no official counts shipped for ``name``), or ``label counts differ``."""
    want = official_label_counts().get(name)
    if want is None:
        return "split sizes only"
    for s in SPLITS:
        labels = np.asarray(splits[s].labels).reshape(len(splits[s]), -1)[:, 0].astype(np.int64)
        got = tuple(int(c) for c in np.bincount(labels, minlength=len(want[s])))
        if got != want[s]:
            return "label counts differ"
    return "split sizes and label counts"
