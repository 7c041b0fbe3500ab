"""MOSAIC's forward with each specialist against the bare timm ViT forward on the same batch."""

from __future__ import annotations

import torch

from mosaic_kit.evaluation.evaluate import autocast
from speed.common import *  # noqa: F403
from speed.common import batch_for, bench, model_for, report


# - sections
@torch.no_grad()
def section_overhead(args, device) -> None:
    import timm

    rows = []
    for backbone in args.backbones:
        bare = timm.create_model(backbone, pretrained=False, num_classes=0).to(device).eval()
        model, _ = model_for(backbone, device)
        model.eval()
        x = batch_for("pathmnist", args.batch, device)
        fns = {
            "bare timm": lambda: bare.forward_features(x)[:, 0],
            "MosaicModel, no adapter": lambda: model.forward_features(x, "pathmnist", "none"),
        }
        for spec in (
            "A",
            "B",
            "C",
        ):  # specialist C on a 2D batch: same tokens, its (widest) bottleneck
            fns[f"MOSAIC specialist {spec}"] = lambda s=spec: model.forward_features(
                x, "pathmnist", s
            )
        with autocast(device, args.amp):
            t = bench(fns, device, args.reps)
        for k, v in t.items():
            rows.append(
                {
                    "backbone": backbone,
                    "forward": k,
                    "ms/batch": 1e3 * v,
                    "images/s": args.batch / v,
                    "vs bare": v / t["bare timm"],
                }
            )
    report("overhead (forward, batch %d, 224 px)" % args.batch, rows)
