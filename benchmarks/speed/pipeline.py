"""Samples per second the input pipeline delivers against those the training step consumes."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Dict

import torch

from mosaic_kit.data import (
    BatchStream,
    open_datasets,
    open_split,
    prepare_2d,
)
from mosaic_kit.data.loader import Loader
from speed.common import *  # noqa: F403
from speed.common import NORM, bench, report, sync
from speed.memory import write_large_npz


def section_pipeline(args, device, step_rates: Dict[str, float]) -> None:
    rows = []
    with tempfile.TemporaryDirectory(dir=args.scratch) as root:
        write_large_npz(Path(root) / "pathmnist_224.npz", 2048)
        sources = {
            "224 px file": open_split(
                root, "pathmnist", "train", 224, cache_dir=str(Path(root) / "c")
            ),
            "28 px file (resized on the fly)": open_datasets("synthetic", ["pathmnist"])[
                "pathmnist"
            ]["train"],
        }
        for label, split in sources.items():
            streams = {"pathmnist": BatchStream(split, args.batch, seed=0)}
            loader = Loader(
                streams, workers=args.workers, depth=4, pin_memory=device.type == "cuda"
            )
            gen = torch.Generator().manual_seed(0)
            n_batches = max(8, 2 * args.reps)

            def run():
                for _, x, _ in loader.iterate(["pathmnist"] * n_batches):
                    out = prepare_2d(x, 224, NORM, augment=True, generator=gen, device=device)
                sync(device)
                return out

            t = bench({"pipeline": run}, device, 3)["pipeline"]
            loader.close()
            rate = n_batches * args.batch / t
            for backbone, consume in step_rates.items():
                rows.append(
                    {
                        "source": label,
                        "loader threads": args.workers,
                        "pipeline samples/s": rate,
                        "backbone": backbone,
                        "step consumes samples/s": consume,
                        "ratio": rate / consume,
                    }
                )
    report(
        "input pipeline (gather + transfer + resize + augment + normalise, batch %d)" % args.batch,
        rows,
    )
