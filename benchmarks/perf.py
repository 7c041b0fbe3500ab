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
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict

import torch

# run as a script: the speed package beside it
sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import common  # noqa: E402
from speed.common import RESULTS  # noqa: E402
from speed.evaluation import section_eval  # noqa: E402
from speed.gmoe import section_gmoe  # noqa: E402
from speed.gpu import section_gpu  # noqa: E402
from speed.memory import memory_child, section_memory  # noqa: E402
from speed.overhead import section_overhead  # noqa: E402
from speed.pipeline import section_pipeline  # noqa: E402
from speed.scaling import section_scaling  # noqa: E402
from speed.switches import section_switches  # noqa: E402
from speed.train_step import section_train  # noqa: E402


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
    common.MIN_SECONDS = args.min_seconds
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
