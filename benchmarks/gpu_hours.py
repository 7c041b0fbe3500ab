"""An estimate of the GPU-hours a plan needs on H100s, from FLOPs counted on the kit's own training
step.

FLOPs per image of one training step (with the EMA teacher) and of one evaluation forward are
counted with ``torch.utils.flop_counter`` on the plan's backbone at its resolution (2D: a
PathMNIST-shaped RGB image at ``img_size``; 3D: a volume at ``vol_size``), on this machine's CPU:
counting needs no GPU. The plan's work is then rounds x steps x batch for every dataset, plus
validation after every round and the final val/test scoring, with the official split sizes
(``medmnist.INFO``), and no early stop (an upper bound). Time = FLOPs / (H100 dense bf16 peak x an
assumed model-FLOPs utilisation). It is an estimate, not a measurement.

    python benchmarks/gpu_hours.py --plan plans/paper.yaml [--mfu 0.35]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from speed.common import NORM, _step_fn, model_for, uint8_batch_for  # noqa: E402

from mosaic_kit.config import load_config  # noqa: E402
from mosaic_kit.data.registry import get_info, resolve_datasets  # noqa: E402
from mosaic_kit.evaluation.evaluate import prepare  # noqa: E402
from mosaic_kit.experiments.suite import load_plan  # noqa: E402

H100_BF16_DENSE = 989e12  # FLOP/s, NVIDIA's published dense bf16 tensor-core peak for the H100 SXM


def per_image_flops(cfg) -> dict:
    """{"train_2d", "train_3d", "eval_2d", "eval_3d"}: FLOPs per image of a training step and an
    eval forward."""
    from torch.utils.flop_counter import FlopCounterMode

    over = {
        k: getattr(cfg, k)
        for k in (
            "img_size",
            "vol_size",
            "bottleneck_a",
            "bottleneck_b",
            "bottleneck_c",
            "method",
            "patch_3d",
        )
    }
    over["img_size"], over["vol_size"] = cfg.img_size, cfg.vol_size
    model, mcfg = model_for(cfg.backbone, torch.device("cpu"), **over)
    out = {}
    for kind, dataset in (("2d", "pathmnist"), ("3d", "adrenalmnist3d")):
        x = uint8_batch_for(dataset, 1)
        if kind == "2d" and cfg.img_size != 224:
            x = torch.nn.functional.interpolate(
                x.permute(0, 3, 1, 2).float(), size=cfg.img_size
            ).permute(0, 2, 3, 1)
            x = x.to(torch.uint8)
        if kind == "3d" and cfg.vol_size != 64:
            x = torch.randint(0, 256, (1,) + (cfg.vol_size,) * 3, dtype=torch.uint8)
        step = _step_fn(
            model,
            mcfg,
            dataset,
            x,
            torch.zeros(1, 1, dtype=torch.long),
            torch.device("cpu"),
            "off",
            teacher=True,
        )[0]
        with FlopCounterMode(display=False) as c:
            step()
        out[f"train_{kind}"] = c.get_total_flops()
        model.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as c:
            model(prepare(model, dataset, x, NORM, torch.device("cpu")), dataset)
        out[f"eval_{kind}"] = c.get_total_flops()
        model.train()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan", default=str(ROOT / "plans" / "paper.yaml"))
    ap.add_argument(
        "--mfu", type=float, default=0.35, help="assumed model-FLOPs utilisation of the H100"
    )
    args = ap.parse_args()
    plan = load_plan(args.plan, root=ROOT)
    total, rows = 0.0, []
    cache = {}
    for spec in plan.runs:
        cfg = load_config(
            spec.parameters["preset"], overrides={**spec.parameters["overrides"], "out": "x"}
        )
        key = (cfg.backbone, cfg.img_size, cfg.vol_size, cfg.method)
        if key not in cache:
            cache[key] = per_image_flops(cfg)
        f = cache[key]
        run = 0.0
        for name in resolve_datasets(cfg.datasets):
            info = get_info(name)
            kind = "3d" if info.is_3d else "2d"
            run += cfg.rounds * cfg.steps_per_dataset * cfg.batch_size * f[f"train_{kind}"]
            # student each round; +teacher
            run += (cfg.rounds + 1) * info.n_samples["val"] * f[f"eval_{kind}"] * 2
            run += info.n_samples["test"] * f[f"eval_{kind}"] * 2
        total += run
        rows.append((spec.label, spec.seed, run))
    hours = total / (H100_BF16_DENSE * args.mfu) / 3600
    print(
        f"plan {plan.name}: {len(plan.runs)} runs; per image: "
        + ", ".join(f"{k} {v / 1e9:.1f} GFLOP" for k, v in next(iter(cache.values())).items())
    )
    for label, seed, run in rows:
        print(
            f"  {label} seed {seed}: {run / 1e15:.1f} PFLOP -> "
            f"{run / (H100_BF16_DENSE * args.mfu) / 3600:.2f} H100-hours at {args.mfu:.0%} MFU"
        )
    print(
        f"total {total / 1e15:.1f} PFLOP: about {hours:.1f} H100-hours at {args.mfu:.0%} of the "
        f"989 TFLOP/s bf16 peak ({total / (H100_BF16_DENSE * 0.2) / 3600:.1f} at 20%, "
        f"{total / (H100_BF16_DENSE * 0.5) / 3600:.1f} at 50%); an estimate with no early stop"
    )


if __name__ == "__main__":
    main()
