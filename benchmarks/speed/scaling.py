"""Time per round as steps per dataset grow, and evaluation time as data grows."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from mosaic_kit.config import load_config
from mosaic_kit.data import (
    open_split,
)
from mosaic_kit.evaluation.evaluate import evaluate
from mosaic_kit.methods import build_model
from speed.common import *  # noqa: F403
from speed.common import NORM, PROBES, report
from speed.memory import write_large_npz


def section_scaling(args, device) -> None:
    """Time of one training round as steps per dataset grow (after a discarded warm-up round),
    and of evaluation as the test split grows (a 28-px split of 4096 images, scored up to n of
    them)."""
    from mosaic_kit.train import train

    rows = []
    base = dict(
        backbone="test_vit",
        weights=None,
        img_size=64,
        vol_size=32,
        bottleneck_a=16,
        bottleneck_b=24,
        bottleneck_c=48,
        rounds=1,
        batch_size=32,
        datasets=list(PROBES.values()),
        device=str(device),
        eval_max_samples=64,
        warmup_steps=1,
        consistency_weight=0.1,
    )
    with tempfile.TemporaryDirectory(dir=args.scratch) as root:
        for steps in (5, 10, 20, 40, 80):
            cfg = load_config(
                overrides={**base, "steps_per_dataset": steps, "out": f"{root}/s{steps}"}
            )
            t = time.perf_counter()
            train(cfg, progress=False, stop_after_rounds=1)
            if steps > 5:  # the first round pays one-off costs (caches, first calls)
                rows.append(
                    {"what": "1 round, 3 datasets", "n": steps, "seconds": time.perf_counter() - t}
                )
        write_large_npz(Path(root) / "pathmnist.npz", 64, size=28, n_small=4096)
        split = open_split(root, "pathmnist", "test", 28, cache_dir=f"{root}/c")
        model, _ = build_model(
            load_config(overrides={**base, "datasets": ["pathmnist"], "out": f"{root}/e"})
        )
        model.to(device)
        evaluate(model, {"pathmnist": split}, NORM, device, 256, 256, args.amp)
        for n in (512, 1024, 2048, 4096):
            t = time.perf_counter()
            evaluate(model, {"pathmnist": split}, NORM, device, 256, n, args.amp)
            rows.append(
                {
                    "what": "evaluate a test split of n images",
                    "n": n,
                    "seconds": time.perf_counter() - t,
                }
            )
    for kind in ("1 round, 3 datasets", "evaluate a test split of n images"):
        xs, ys = np.array(
            [(r["n"], r["seconds"]) for r in rows if r["what"] == kind], dtype=float
        ).T
        slope, icpt = np.polyfit(xs, ys, 1)
        r2 = 1 - ((ys - (slope * xs + icpt)) ** 2).sum() / ((ys - ys.mean()) ** 2).sum()
        for r in rows:
            if r["what"] == kind:
                r["linear fit"] = f"{icpt:.2f} s + {1e3 * slope:.2f} ms x n (R^2 {r2:.4f})"
    report("scaling (test_vit, 64 px, batch 32; n = steps per dataset or test images)", rows)
