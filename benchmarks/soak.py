"""Soak test (not in CI): many short training runs and evaluations back to back, in one process and
across processes, watching resident memory and open file handles.

    .venv/bin/python benchmarks/soak.py --runs 30 --procs 5

Prints RSS and open-fd counts after each in-process run, the growth between the first and last
third, and the same for separate processes; appends nothing by itself (copy the summary into
benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean

from mosaic_kit.config import load_config
from mosaic_kit.evaluation.rescore import evaluate_run
from mosaic_kit.train import train

TINY = dict(
    backbone="test_vit",
    img_size=32,
    vol_size=16,
    bottleneck_a=8,
    bottleneck_b=8,
    bottleneck_c=8,
    rounds=1,
    steps_per_dataset=3,
    batch_size=8,
    eval_max_samples=32,
    device="cpu",
    datasets=["pathmnist", "breastmnist", "adrenalmnist3d"],
)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--procs", type=int, default=5)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mosaic-soak-"))
    os.environ.setdefault("MOSAIC_KIT_CACHE", str(root / "cache"))
    rss, fds, t0 = [], [], time.time()
    for i in range(args.runs):
        run = train(
            load_config(overrides={**TINY, "seed": i, "out": str(root / f"run{i}")}), progress=False
        )
        evaluate_run(run, "last")
        gc.collect()
        rss.append(rss_mb())
        fds.append(open_fds())
        print(f"in-process run {i + 1:3d}: RSS {rss[-1]:7.1f} MB, open fds {fds[-1]}", flush=True)
    k = max(1, args.runs // 3)
    print(
        f"\nin-process: {args.runs} runs + evaluations in {time.time() - t0:.0f} s; RSS first "
        f"third {mean(rss[:k]):.1f} MB, last third {mean(rss[-k:]):.1f} MB (growth "
        f"{mean(rss[-k:]) - mean(rss[:k]):+.1f} MB); open fds {fds[0]} -> {fds[-1]}"
    )
    peaks = []
    for i in range(args.procs):
        out = root / f"proc{i}"
        code = (
            "import resource, sys; from mosaic_kit.cli import main; rc = main(sys.argv[1:]); "
            "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024); sys.exit(rc)"
        )
        sets = [
            x
            for k_, v in {**TINY, "seed": i}.items()
            for x in ("--set", f"{k_}={','.join(v) if isinstance(v, list) else v}")
        ]
        r = subprocess.run(
            [sys.executable, "-c", code, "train", *sets, "--out", str(out)],
            capture_output=True,
            text=True,
            check=True,
        )
        peaks.append(float(r.stdout.split("PEAK")[-1]))
        print(f"process {i + 1}: peak RSS {peaks[-1]:.1f} MB", flush=True)
    print(
        f"\nseparate processes: peak RSS {min(peaks):.1f} .. {max(peaks):.1f} MB over {args.procs} "
        "runs"
    )


if __name__ == "__main__":
    main()
