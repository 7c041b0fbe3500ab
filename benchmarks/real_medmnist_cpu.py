"""MOSAIC on real MedMNIST files with a real pretrained DeiT-Tiny, on a CPU, beside published
baselines.

Trains jointly on BreastMNIST, PneumoniaMNIST (2D, 28 px files upsampled to --img-size) and
AdrenalMNIST3D (28^3 volumes resized to 32^3, 8^3 patches) from ../shared/data, then prints
per-dataset test ACC/AUC of the best-validation checkpoint next to MedMNIST v2's ResNet-18 numbers,
and the wall time.

    .venv/bin/python benchmarks/real_medmnist_cpu.py --out runs/bench-real
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

from mosaic_kit.config import load_config
from mosaic_kit.train import train

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BASELINE = {
    "breastmnist": "resnet18_28",
    "pneumoniamnist": "resnet18_28",
    "adrenalmnist3d": "resnet18_3d",
}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", default="runs/bench-real")
    ap.add_argument("--img-size", type=int, default=112)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--steps", type=int, default=30, help="steps per dataset per round")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    cfg = load_config(
        overrides=dict(
            datasets=list(BASELINE),
            data_root=str(SHARED / "medmnist"),
            backbone="deit_tiny_patch16_224",
            weights=str(SHARED / "weights" / "deit_tiny_patch16_224.int8fq.safetensors"),
            img_size=args.img_size,
            vol_size=32,
            rounds=args.rounds,
            steps_per_dataset=args.steps,
            batch_size=32,
            lr=args.lr,
            warmup_steps=50,
            patience=4,
            seed=args.seed,
            device="cpu",
            out=args.out,
        )
    )
    t0 = time.time()
    run = train(cfg)
    wall = time.time() - t0
    res = json.loads((run / "results.json").read_text())
    ref = {
        (r["dataset"], r["method"]): r
        for r in csv.DictReader(open(SHARED / "reference" / "medmnist_v2_baselines.csv"))
    }
    print(f"\nwall time {wall / 60:.1f} min, {res['params']['trainable']:,} trainable parameters")
    print(
        "| dataset | MOSAIC test ACC | MOSAIC test AUC | teacher ACC | teacher AUC | ResNet-18 ACC "
        "| ResNet-18 AUC |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, method in BASELINE.items():
        r, t, b = (
            res["datasets"][name]["test"],
            res["teacher"]["datasets"][name]["test"],
            ref.get((name, method), {}),
        )
        print(
            f"| {name} | {r['acc']:.3f} | {r['auc']:.3f} | {t['acc']:.3f} | {t['auc']:.3f} | "
            f"{b.get('acc', '?')} | {b.get('auc', '?')} |"
        )


if __name__ == "__main__":
    main()
