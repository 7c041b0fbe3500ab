"""CUDA only: images per second of the training step and model-FLOPs utilisation."""

from __future__ import annotations

import torch

from mosaic_kit.models.speed import apply_speed
from speed.common import *  # noqa: F403
from speed.common import _step_fn, bench, model_for, report, uint8_batch_for


def section_gpu(args, device) -> None:
    """Images/s and model-FLOPs utilisation of the training step against the measured bf16 matmul
    rate."""
    from torch.utils.flop_counter import FlopCounterMode

    n = 8192
    a, b = (
        torch.randn(n, n, device=device, dtype=torch.bfloat16),
        torch.randn(n, n, device=device, dtype=torch.bfloat16),
    )
    t = bench({"mm": lambda: a @ b}, device, 10, warmup=3)["mm"]
    peak = 2 * n**3 / t
    rows = [{"what": "bf16 matmul 8192^3 (measured peak)", "TFLOP/s": peak / 1e12}]
    for backbone in args.backbones:
        model, cfg = model_for(backbone, device)
        apply_speed(model, compile=args.compile)
        model.train()
        x, y = uint8_batch_for("pathmnist", args.batch), torch.randint(0, 9, (args.batch, 1))
        for label, tch in (("step", False), ("step + EMA teacher", True)):
            step = _step_fn(model, cfg, "pathmnist", x, y, device, "bf16", teacher=tch)[0]
            with FlopCounterMode(display=False) as counter:
                step()
            flops = counter.get_total_flops()
            sec = bench({"s": step}, device, args.reps, warmup=3)["s"]
            rows.append(
                {
                    "what": f"{backbone} {label}, batch {args.batch}",
                    "images/s": args.batch / sec,
                    "GFLOP/step": flops / 1e9,
                    "TFLOP/s": flops / sec / 1e12,
                    "MFU": flops / sec / peak,
                }
            )
    report("GPU: images/s and model-FLOPs utilisation (bf16)", rows)
