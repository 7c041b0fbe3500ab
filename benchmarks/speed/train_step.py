"""One training step of the kit (frozen backbone + MoS, with and without the EMA teacher) against
full fine-tuning."""

from __future__ import annotations

from typing import Dict

import torch

from speed.common import *  # noqa: F403
from speed.common import _opt_state_mb, _step_fn, bench, model_for, report, uint8_batch_for


def section_train(args, device) -> Dict[str, float]:
    rows, rates = [], {}
    for backbone in args.backbones:
        mos, mos_cfg = model_for(backbone, device)
        full, full_cfg = model_for(backbone, device, method="full")
        mos.train(), full.train()
        x, y = uint8_batch_for("pathmnist", args.batch), torch.randint(0, 9, (args.batch, 1))
        steps, opts = {}, {}
        for name, m, cfg in (
            ("MOSAIC (frozen + MoS)", mos, mos_cfg),
            ("full fine-tuning", full, full_cfg),
        ):
            steps[name], opts[name] = _step_fn(m, cfg, "pathmnist", x, y, device, args.amp)
            steps[name + " + EMA teacher"], opts[name + " + EMA teacher"] = _step_fn(
                m, cfg, "pathmnist", x, y, device, args.amp, teacher=True
            )
        t = bench(steps, device, args.reps)
        for k, v in t.items():
            ref = t["full fine-tuning + EMA teacher" if "teacher" in k else "full fine-tuning"]
            rows.append(
                {
                    "backbone": backbone,
                    "step": k,
                    "ms/step": 1e3 * v,
                    "images/s": args.batch / v,
                    "vs full FT": v / ref,
                    "optimizer state MB": round(_opt_state_mb(opts[k]), 1),
                }
            )
        rates[backbone] = args.batch / t["MOSAIC (frozen + MoS) + EMA teacher"]
    report("train step (batch %d, 224 px, AdamW)" % args.batch, rows)
    return rates
