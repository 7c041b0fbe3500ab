"""Resident memory while a large split is opened and iterated: it must not grow with the split."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Dict

import numpy as np
from numpy.lib import format as npformat

from mosaic_kit.data import (
    BatchStream,
    iter_batches,
    open_split,
)
from speed.common import *  # noqa: F403
from speed.common import report

#: the entry script: the memory child runs as ``perf.py --memory-child ROOT N``
PERF = Path(__file__).resolve().parents[1] / "perf.py"


def write_large_npz(
    path: Path, n_train: int, size: int = 224, n_small: int = 64, seed: int = 0
) -> None:
    """An npz laid out like MedMNIST's PathMNIST at ``size`` with ``n_train`` random RGB training
    images, written chunk by chunk (never whole in memory)."""
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for split, n in (("train", n_train), ("val", n_small), ("test", n_small)):
            with zf.open(f"{split}_images.npy", "w", force_zip64=True) as fh:
                npformat.write_array_header_1_0(
                    fh, {"descr": "|u1", "fortran_order": False, "shape": (n, size, size, 3)}
                )
                for start in range(0, n, 256):
                    fh.write(
                        rng.integers(
                            0, 256, (min(256, n - start), size, size, 3), dtype=np.uint8
                        ).tobytes()
                    )
            with zf.open(f"{split}_labels.npy", "w") as fh:
                np.save(fh, rng.integers(0, 9, (n, 1), dtype=np.uint8))


def _rss() -> Dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[key] = int(line.split()[1]) / 1024
    return out


def memory_child(root: str, n: int) -> None:
    """(subprocess) Open the split and go through it twice: one training epoch and one evaluation
    pass."""
    base = _rss()
    t0 = time.perf_counter()
    split = open_split(root, "pathmnist", "train", 224, cache_dir=str(Path(root) / "cache"))
    opened, peak_anon = _rss(), 0.0
    stream = BatchStream(split, 64, seed=0)
    for _ in range(stream.steps_per_epoch):
        x, _ = stream.next_batch()
        peak_anon = max(peak_anon, _rss()["RssAnon"])
    for _x, _ in iter_batches(split, 256):
        peak_anon = max(peak_anon, _rss()["RssAnon"])
    end = _rss()
    print(
        json.dumps(
            {
                "n": n,
                "gb": round(split.images.nbytes / 2**30, 2),
                "seconds": round(time.perf_counter() - t0, 1),
                "anon_base": base["RssAnon"],
                "anon_open": opened["RssAnon"],
                "anon_peak": peak_anon,
                "file_end": end["RssFile"],
            }
        )
    )


def section_memory(args, device) -> None:
    rows = []
    for n in args.memory_sizes:
        with tempfile.TemporaryDirectory(dir=args.scratch) as root:
            write_large_npz(Path(root) / "pathmnist_224.npz", n)
            out = (
                subprocess.run(
                    [sys.executable, str(PERF), "--memory-child", root, str(n)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            r = json.loads(out)
        rows.append(
            {
                "train images": n,
                "split GB": r["gb"],
                "open + 2 passes s": r["seconds"],
                "RssAnon after import MB": r["anon_base"],
                "after open MB": r["anon_open"],
                "peak while iterating MB": r["anon_peak"],
                "peak - import MB": r["anon_peak"] - r["anon_base"],
                "RssFile at end MB (page cache, reclaimable)": r["file_end"],
            }
        )
    report("memory (224 px RGB split: .npz -> memory-mapped .npy, batch 64)", rows)
