"""How often a comparison rule calls a difference where there is none, and finds one that is there.

Simulated binary-classification outputs on one shared test set (per-sample difficulty shared by every run, seed noise
per run): arm A gets a planted logit shift towards the true class, arm B none. Two rules are compared:

- the withdrawn rule: "A is better when its mean score over seeds exceeds B's by more than the larger sample std
  over seeds" (unpaired, one metric);
- the kit's paired comparison (``mosaic_kit.stats.paired_difference``: two-level bootstrap, 95%).

    python benchmarks/verdict_rules.py --sims 200 --seeds 3 5
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from mosaic_kit.metrics import compute_metrics
from mosaic_kit.stats import paired_difference

TASK = {"d": "binary-class"}


def simulate(i: int, shift: float, seeds: int, n: int = 300):
    rng = np.random.default_rng(i)
    y = (rng.random(n) < 0.4).astype(int)
    base = (2 * y - 1) + rng.normal(size=n)

    def arm(s):
        out = {}
        for k in range(seeds):
            p = 1 / (1 + np.exp(-(base + 0.3 * rng.normal(size=n) + s * (2 * y - 1))))
            out[k] = {"d": (y.reshape(-1, 1), np.stack([1 - p, p], 1))}
        return out

    return arm(shift), arm(0.0)


def old_rule(a, b, metric: str) -> bool:
    va = [compute_metrics("binary-class", *a[k]["d"])[metric] for k in a]
    vb = [compute_metrics("binary-class", *b[k]["d"])[metric] for k in b]
    return np.mean(va) - np.mean(vb) > max(np.std(va, ddof=1), np.std(vb, ddof=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sims", type=int, default=200)
    ap.add_argument("--seeds", type=int, nargs="+", default=[3, 5])
    ap.add_argument("--shifts", type=float, nargs="+", default=[0.0, 0.15],
                    help="planted logit shifts of arm A, one row pair each (0: no effect)")
    ap.add_argument("--boot", type=int, default=1000)
    args = ap.parse_args()
    t0 = time.time()
    print("| seeds | planted shift | metric | withdrawn rule: 'better' | paired bootstrap: 'better' | 'worse' |")
    print("|---|---|---|---|---|---|")
    for seeds in args.seeds:
        for shift in args.shifts:
            for metric in ("acc", "auc"):
                old = paired = worse = 0
                for i in range(args.sims):
                    a, b = simulate(i, shift, seeds)
                    old += old_rule(a, b, metric)
                    v = paired_difference(a, b, metric, tasks=TASK, n_boot=args.boot, seed=i).verdict
                    paired += v == "better"
                    worse += v == "worse"
                print(f"| {seeds} | {shift} | {metric.upper()} | {old / args.sims:.3f} | {paired / args.sims:.3f} | "
                      f"{worse / args.sims:.3f} |")
    print(f"\n{args.sims} simulations per row, {args.boot} bootstrap replicates; {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
