"""Train one shard of one or more plans' pending runs in this process, without Jupyter: for a GPU
node where several such processes share one GPU, or any machine without a notebook kernel.

Each run goes through the same calls the training notebook (``notebooks/01_train.ipynb``) makes,
``load_config`` on the plan entry's parameters then ``mosaic_kit.train.train``, and gets the same
``suite.json`` as a ``suite`` run, so ``suite --plan P --report-only`` (or the suite itself) treats
it as finished. Runs are dealt out round robin over the plans' pending runs in plan order: shard K
of N trains pending runs K, K + N, K + 2N, ..., counted when it starts (start the N shards
together; one started later deals over what is then pending). An interrupted run is resumed from
its last checkpoint.
The notebook's last cells (one run's figures) are not run here.

    python benchmarks/plan_shard.py --plan plans/a.yaml --plan plans/b.yaml --shard 0/4 \\
        --device cuda
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mosaic_kit.config import load_config  # noqa: E402
from mosaic_kit.experiments.plan import RunSpec, load_plan  # noqa: E402
from mosaic_kit.experiments.records import is_done  # noqa: E402
from mosaic_kit.train import train  # noqa: E402
from mosaic_kit.utils.atomic import atomic_write_bytes  # noqa: E402


def run_one(spec: RunSpec, execution: dict) -> float:
    """Train ``spec`` (resuming an interrupted run), write its ``suite.json``; return seconds."""
    d = Path(spec.run_dir)
    d.mkdir(parents=True, exist_ok=True)
    started = (d / "last_state.pt").is_file() or any(d.glob("*/last_state.pt"))
    resume = started and not (d / "results.json").is_file()
    (d / "suite.json").unlink(missing_ok=True)  # a half-done run is never taken for a finished one
    p = spec.parameters  # a plan entry's notebook parameters: preset, overrides, out
    cfg = load_config(p["preset"], overrides={**p["overrides"], **execution, "out": str(d)})
    t0 = time.time()
    train(cfg, resume=resume, progress=False)
    atomic_write_bytes(d / "suite.json", json.dumps(spec.fingerprint(), indent=1).encode())
    return time.time() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plan", action="append", required=True, help="plan YAML (repeatable)")
    ap.add_argument("--shard", default="0/1", help="K/N: this process trains runs K, K+N, ...")
    ap.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    args = ap.parse_args(argv)
    try:
        k, n = (int(x) for x in args.shard.split("/"))
    except ValueError:
        ap.error(f"--shard takes K/N, e.g. 0/4 (got {args.shard})")
    if not 0 <= k < n:
        ap.error(f"--shard K/N needs 0 <= K < N (got {args.shard})")
    pending = [r for path in args.plan for r in load_plan(path).runs if not is_done(r)]
    mine = pending[k::n]
    print(f"shard {k}/{n}: {len(mine)} of {len(pending)} pending runs", flush=True)
    execution = {"device": args.device, "threads": args.threads}
    for spec in mine:
        print(f"start {spec.run_dir}", flush=True)
        wall = run_one(spec, execution)
        print(f"done {spec.run_dir} {wall:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
