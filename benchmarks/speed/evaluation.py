"""Test-set inference over several datasets (batched, no grad) against the bare forward."""

from __future__ import annotations

import torch

from mosaic_kit.data import (
    open_datasets,
)
from mosaic_kit.evaluation.evaluate import autocast, evaluate
from speed.common import *  # noqa: F403
from speed.common import NORM, batch_for, bench, model_for, report


@torch.no_grad()
def section_eval(args, device) -> None:
    """``evaluate()`` over three 2D test splits (28 px files resized to 224) against the bare
    timm forward over batches of exactly the same sizes: the difference is input preparation,
    adapters, heads and metrics."""
    import timm

    rows = []
    names = ["pathmnist", "pneumoniamnist", "breastmnist"]
    data = open_datasets("synthetic", names)
    splits = {n: data[n]["test"] for n in names}
    sizes = [
        min(args.eval_batch, m - s)
        for n in names
        for m in [min(len(splits[n]), args.eval_samples)]
        for s in range(0, m, args.eval_batch)
    ]
    n_images = sum(sizes)
    backbones = args.backbones if device.type == "cuda" else args.backbones[:1]
    for backbone in backbones:
        model, cfg = model_for(backbone, device, datasets=names)
        bare = timm.create_model(backbone, pretrained=False, num_classes=0).to(device).eval()
        x = batch_for("pathmnist", args.eval_batch, device)

        def bare_pass():
            with autocast(device, args.amp):
                for b in sizes:
                    bare.forward_features(x[:b])

        t = bench(
            {
                "evaluate()": lambda: evaluate(
                    model, splits, NORM, device, args.eval_batch, args.eval_samples, args.amp
                ),
                "bare timm forward, same batches": bare_pass,
            },
            device,
            max(2, args.reps // 2),
            warmup=1,
        )
        for k, v in t.items():
            rows.append(
                {
                    "backbone": backbone,
                    "what": k,
                    "images": n_images,
                    "seconds": v,
                    "images/s": n_images / v,
                    "vs bare": v / t["bare timm forward, same batches"],
                }
            )
    report("evaluation (3 test splits, batch %d, amp=%s)" % (args.eval_batch, args.amp), rows)
