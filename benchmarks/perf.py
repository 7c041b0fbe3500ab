"""Speed and memory of the kit against the frozen backbone's own limit; every ratio is measured in
this one run.

    .venv/bin/python benchmarks/perf.py  # CPU: DeiT-Tiny and ViT-B/16 at 224
    # GPU
    python benchmarks/perf.py --device cuda --backbones vit_base_patch16_224 --batch 128 --amp bf16

Sections (``--sections``, default all):

- ``overhead`` MOSAIC forward (each specialist) vs the bare timm ViT forward on the same batch
  (target <= 1.08x).
- ``train`` one step of ``mosaic_kit.train.TrainStep`` (the trainer's own: uint8 batch in,
                augmentation, loss, non-finite guard, clipping, AdamW), frozen backbone + MoS vs
                full fine-tuning of the same ViT (target <= 0.75x; a frozen backbone needs no weight
                gradients, ideal about 0.67x), without and with the EMA teacher (consistency forward
                + update, the trainer's default), and the optimizer state each keeps.
- ``pipeline`` samples/s the input pipeline delivers (memory-map gather, transfer, resize, augment,
                normalise) vs samples/s the training step consumes (target >= 3x).
- ``memory`` resident memory while opening and iterating a 224-px split of N images, for two N (must
  not grow).
- ``eval`` test-set inference over several datasets (batched, no grad, bf16 on CUDA) vs the bare
  forward.
- ``scaling`` time per round as steps per dataset grow, and evaluation time as data grows (both
  linear).
- ``switches`` each speed switch on vs off: fused attention, channels-last, bf16, activation
                checkpointing, torch.compile, read-ahead loader threads.
- ``gmoe`` the two-backbone GMoE-Adapter (``method=gmoe``: two frozen ViTs, an adapter in every
                block of each, a gate) against one shared adapter and ``gmoe-shared`` (one ViT, two
                gated adapters per block): forward and training step, each vs the bare timm forward
                of one backbone.
- ``gpu`` (CUDA only) images/s of the training step and model-FLOPs utilisation: FLOPs counted with
                torch's FlopCounterMode over the step, divided by the measured bf16 matmul rate.

Timings alternate the candidates of a comparison (A B A B ...) and report medians, so slow drifts
of a noisy machine hit both. Results go to stdout and, with ``--json``, to a file; copy them into
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
import torch
from numpy.lib import format as npformat

from mosaic_kit.config import load_config
from mosaic_kit.data import (
    BatchStream,
    Normalization,
    iter_batches,
    open_datasets,
    open_split,
    prepare_2d,
)
from mosaic_kit.data.loader import Loader
from mosaic_kit.data.registry import DEFAULT_ROUTING
from mosaic_kit.evaluation.evaluate import autocast, evaluate
from mosaic_kit.methods import build_model
from mosaic_kit.models.speed import apply_speed
from mosaic_kit.train import ExpertEMA, TrainStep
from mosaic_kit.train.optim import build_optimizer

NORM = Normalization((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
#: one 2D dataset per specialist (A, B) and a 3D one (C)
PROBES = {"A": "pathmnist", "B": "pneumoniamnist", "C": "adrenalmnist3d"}
RESULTS: Dict[str, object] = {}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


MIN_SECONDS = (
    20.0  # each comparison runs at least this long (more repetitions for fast calls), --min-seconds
)


def bench(
    fns: Dict[str, Callable[[], object]], device: torch.device, reps: int, warmup: int = 1
) -> Dict[str, float]:
    """Median seconds per call of each function, calls interleaved A B A B ...; at least ``reps``
    rounds, more (up to 200) until the comparison has taken ``MIN_SECONDS``."""
    t = time.perf_counter()
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync(device)
    per_round = (time.perf_counter() - t) / max(warmup, 1)
    reps = min(200, max(reps, int(MIN_SECONDS / max(per_round, 1e-6))))
    times: Dict[str, List[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            sync(device)
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def report(section: str, rows: List[Dict[str, object]]) -> None:
    RESULTS.setdefault(section, []).extend(rows)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    print(f"\n### {section}\n")
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print(
            "| "
            + " | ".join(
                f"{r[k]:.4g}" if isinstance(r.get(k), float) else str(r.get(k, "")) for k in keys
            )
            + " |"
        )
    sys.stdout.flush()


@functools.lru_cache(maxsize=None)
def embed_dim(backbone: str) -> int:
    import timm

    return timm.create_model(backbone, pretrained=False, num_classes=0).embed_dim


def model_for(backbone: str, device: torch.device, method: str = "mos", **kw):
    """The kit's model at 224 px; MOSAIC's bottlenecks are the paper's ViT-B widths (64/96/192 of
    768) scaled to the backbone's width, so DeiT-Tiny (192) gets 16/24/48."""
    d = embed_dim(backbone)
    widths = dict(bottleneck_a=d // 12, bottleneck_b=d // 8, bottleneck_c=d // 4)
    base = dict(
        backbone=backbone,
        weights=None,
        img_size=224,
        vol_size=64,
        method=method,
        datasets=list(PROBES.values()),
        device=str(device),
        **widths,
    )
    cfg = load_config(overrides={**base, **kw})
    model, _ = build_model(cfg)
    return model.to(device), cfg


def batch_for(dataset: str, n: int, device: torch.device) -> torch.Tensor:
    shape = (n, 1, 64, 64, 64) if DEFAULT_ROUTING[dataset] == "C" else (n, 3, 224, 224)
    return torch.randn(shape, device=device)


# --------------------------------------------------------------------------------------------------
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


def uint8_batch_for(dataset: str, n: int) -> torch.Tensor:
    """A batch as the data files hold it: uint8 (B, 224, 224, 3) images or (B, 64, 64, 64)
    volumes."""
    shape = (n, 64, 64, 64) if DEFAULT_ROUTING[dataset] == "C" else (n, 224, 224, 3)
    return torch.randint(0, 256, shape, dtype=torch.uint8)


def _step_fn(model, cfg, dataset, x_u8, y, device, amp, teacher=False):
    """The kit's own training step (``mosaic_kit.train.TrainStep``, what ``train`` runs) on one
    fixed uint8 batch: device transfer, augmentation and normalisation, forward, loss, the
    non-finite guard, backward, gradient clipping, AdamW and, with ``teacher``, the EMA teacher's
    forward (consistency loss) and update."""
    cfg = dataclasses.replace(cfg, amp=amp, lr=1e-5, consistency_weight=0.1 if teacher else 0.0)
    opt = build_optimizer(model, cfg)
    step = TrainStep(model, ExpertEMA(model) if teacher else None, opt, NORM, device, cfg)
    return (lambda: step(dataset, x_u8, y)), opt


def _opt_state_mb(opt) -> float:
    return (
        sum(
            t.numel() * t.element_size()
            for s in opt.state.values()
            for t in s.values()
            if torch.is_tensor(t)
        )
        / 2**20
    )


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
                    [sys.executable, __file__, "--memory-child", root, str(n)],
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


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--device", default="auto")
    ap.add_argument("--backbones", default="deit_tiny_patch16_224,vit_base_patch16_224")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--eval-batch", type=int, default=64)
    ap.add_argument(
        "--eval-samples", type=int, default=128, help="test samples per dataset in the eval section"
    )
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--amp", default="auto", choices=("auto", "bf16", "off"))
    ap.add_argument("--workers", type=int, default=2, help="loader threads in the pipeline section")
    ap.add_argument("--compile", action="store_true", help="gpu section: torch.compile the blocks")
    ap.add_argument(
        "--memory-sizes", default="1000,8000", help="training-split sizes of the memory section"
    )
    ap.add_argument(
        "--scratch",
        default=None,
        help="folder for the large temporary files (default: system temp)",
    )
    ap.add_argument(
        "--sections", default="overhead,train,pipeline,memory,eval,scaling,switches,gmoe,gpu"
    )
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--min-seconds", type=float, default=20.0, help="least time per comparison")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        return memory_child(args.memory_child[0], int(args.memory_child[1]))
    if args.threads:
        torch.set_num_threads(args.threads)
    global MIN_SECONDS
    MIN_SECONDS = args.min_seconds
    os.environ.setdefault("MOSAIC_KIT_CACHE", tempfile.mkdtemp(prefix="mosaic-perf-cache-"))
    device = torch.device(
        "cuda"
        if args.device == "auto" and torch.cuda.is_available()
        else ("cpu" if args.device == "auto" else args.device)
    )
    args.backbones = args.backbones.split(",")
    args.memory_sizes = [int(n) for n in args.memory_sizes.split(",")]
    sections = args.sections.split(",")
    machine = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    )
    print(f"# perf: {machine}; torch {torch.__version__}; {' '.join(sys.argv[1:]) or '(defaults)'}")
    torch.manual_seed(0)
    t0 = time.time()
    rates: Dict[str, float] = {}
    if "overhead" in sections:
        section_overhead(args, device)
    if "train" in sections or "pipeline" in sections:
        rates = section_train(args, device)
    if "pipeline" in sections:
        section_pipeline(args, device, rates)
    if "memory" in sections:
        section_memory(args, device)
    if "eval" in sections:
        section_eval(args, device)
    if "scaling" in sections:
        section_scaling(args, device)
    if "switches" in sections:
        section_switches(args, device)
    if "gmoe" in sections:
        section_gmoe(args, device)
    if "gpu" in sections and device.type == "cuda":
        section_gpu(args, device)
    print(f"\n(total {time.time() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"machine": machine, "argv": sys.argv[1:], "results": RESULTS}, indent=1)
        )


if __name__ == "__main__":
    main()
