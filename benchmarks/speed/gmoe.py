"""The two-backbone GMoE-Adapter against one shared adapter and the one-backbone gmoe-shared:
forward and step."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from mosaic_kit.evaluation.evaluate import autocast
from speed.common import *  # noqa: F403
from speed.common import _step_fn, batch_for, bench, model_for, report, uint8_batch_for


def section_gmoe(args, device) -> None:
    """Cost of the second backbone: ``gmoe`` runs two ViT passes per batch (expected about 2x the
    bare forward)."""
    import timm
    from safetensors.torch import save_file

    rows = []
    for backbone in args.backbones:
        with (
            tempfile.TemporaryDirectory() as tmp
        ):  # the medical expert's weights: a random init in timm's layout
            medical = Path(tmp) / "medical.safetensors"
            save_file(
                timm.create_model(backbone, pretrained=False, num_classes=0).state_dict(),
                str(medical),
            )
            models = {
                m: model_for(
                    backbone,
                    device,
                    method=m,
                    gmoe_medical_weights=str(medical),
                    adapter_bottleneck=64,
                    gmoe_bottleneck=64,
                )
                for m in ("adapter", "gmoe-shared", "gmoe")
            }
        bare = timm.create_model(backbone, pretrained=False, num_classes=0).to(device).eval()
        x = batch_for("pathmnist", args.batch, device)
        fwd = {"bare timm": lambda: bare.forward_features(x)[:, 0]}
        for m, (model, _) in models.items():
            fwd[m] = lambda model=model: model.eval().forward_features(x, "pathmnist")
        with torch.no_grad(), autocast(device, args.amp):
            t = bench(fwd, device, args.reps)
        steps = {}
        x_u8, y = uint8_batch_for("pathmnist", args.batch), torch.randint(0, 9, (args.batch, 1))
        for m, (model, cfg) in models.items():
            model.train()
            steps[m] = _step_fn(model, cfg, "pathmnist", x_u8, y, device, args.amp)[0]
        ts = bench(steps, device, args.reps)
        for k, v in t.items():
            trainable = (
                sum(p.numel() for p in models[k][0].parameters() if p.requires_grad)
                if k in models
                else 0
            )
            rows.append(
                {
                    "backbone": backbone,
                    "method": k,
                    "trainable params": f"{trainable:,}",
                    "forward ms/batch": 1e3 * v,
                    "forward vs bare": v / t["bare timm"],
                    "train ms/step": 1e3 * ts[k] if k in ts else "",
                    "train vs adapter": ts[k] / ts["adapter"] if k in ts else "",
                }
            )
    report("gmoe (forward and train step, batch %d, 224 px)" % args.batch, rows)
