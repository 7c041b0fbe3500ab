"""Each speed switch on against off: fused attention, channels-last, bf16, activation
checkpointing, torch.compile, read-ahead threads."""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Dict, List

import torch

from mosaic_kit.config import load_config
from mosaic_kit.evaluation.evaluate import autocast
from mosaic_kit.models.speed import apply_speed
from speed.common import *  # noqa: F403
from speed.common import PROBES, _step_fn, batch_for, bench, model_for, report, uint8_batch_for


def section_switches(args, device) -> None:
    rows = []
    backbone = args.backbones[0]
    x = batch_for("pathmnist", args.batch, device)
    x_u8, y = uint8_batch_for("pathmnist", args.batch), torch.randint(0, 9, (args.batch, 1))

    def fwd(model):
        @torch.no_grad()
        def f():
            with autocast(device, args.amp):
                model.forward_features(x, "pathmnist")

        return f

    pairs = {
        "fused attention (forward)": (dict(fused_attn=True), dict(fused_attn=False), "fwd"),
        "channels-last (forward)": (dict(channels_last=True), dict(channels_last=False), "fwd"),
        "activation checkpointing (step)": (
            dict(grad_checkpointing=True),
            dict(grad_checkpointing=False),
            "step",
        ),
        "torch.compile (step)": (dict(compile=True), dict(compile=False), "step"),
    }
    for label, (on, off, kind) in pairs.items():
        fns = {}
        for state, sw in (("on", on), ("off", off)):
            model, cfg = model_for(backbone, device)
            apply_speed(model, **sw)
            model.train(kind == "step")
            fns[state] = (
                fwd(model)
                if kind == "fwd"
                else _step_fn(model, cfg, "pathmnist", x_u8, y, device, args.amp)[0]
            )
        t0 = time.perf_counter()
        t = bench(fns, device, args.reps, warmup=2)
        rows.append(
            {
                "backbone": backbone,
                "switch": label,
                "on ms": 1e3 * t["on"],
                "off ms": 1e3 * t["off"],
                "on / off": t["on"] / t["off"],
                "incl. warm-up s": time.perf_counter() - t0,
            }
        )
        if label.startswith("activation") and device.type == "cuda":
            for state in ("on", "off"):
                torch.cuda.reset_peak_memory_stats(device)
                fns[state]()
                rows[-1][f"peak GB {state}"] = torch.cuda.max_memory_allocated(device) / 2**30
    model, cfg = model_for(backbone, device)
    model.train()
    amp_fns = {
        amp: _step_fn(model, cfg, "pathmnist", x_u8, y, device, amp)[0] for amp in ("bf16", "off")
    }
    t = bench(amp_fns, device, args.reps)
    rows.append(
        {
            "backbone": backbone,
            "switch": "bf16 autocast (step)",
            "on ms": 1e3 * t["bf16"],
            "off ms": 1e3 * t["off"],
            "on / off": t["bf16"] / t["off"],
        }
    )
    rows += _loader_switch(args, device)
    report("speed switches (batch %d)" % args.batch, rows)


def _loader_switch(args, device) -> List[Dict[str, object]]:
    """The whole training loop (test_vit, 64 px) with the read-ahead threads on and off."""
    from mosaic_kit.train import train

    base = dict(
        backbone="test_vit",
        weights=None,
        img_size=64,
        vol_size=32,
        bottleneck_a=16,
        bottleneck_b=24,
        bottleneck_c=48,
        rounds=1,
        steps_per_dataset=30,
        batch_size=64,
        datasets=list(PROBES.values()),
        device=str(device),
        eval_max_samples=32,
        warmup_steps=1,
    )
    times: Dict[str, List[float]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory(dir=args.scratch) as root:
        for rep in range(3):
            for state, workers in (("on", 2), ("off", 0)):
                cfg = load_config(
                    overrides={**base, "loader_workers": workers, "out": f"{root}/{state}{rep}"}
                )
                t = time.perf_counter()
                train(cfg, progress=False, stop_after_rounds=1)
                times[state].append(time.perf_counter() - t)
    on, off = statistics.median(times["on"]), statistics.median(times["off"])
    return [
        {
            "backbone": "test_vit (64 px)",
            "switch": "read-ahead loader, 2 threads (90-step round)",
            "on ms": 1e3 * on,
            "off ms": 1e3 * off,
            "on / off": on / off,
        }
    ]
