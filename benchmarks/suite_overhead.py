"""What running through the suite costs, and what ``--max-parallel 2`` gains, on this machine.

A plan of 4 tiny runs (timm's test_vit on the embedded data, 2 datasets, 2 rounds x 10 steps) is run
twice into fresh folders: one run at a time, then two at a time. While each runs, a watcher thread
reads every run's ``metrics.jsonl`` every 20 ms, so per run we get: the start overhead (job start ->
first training step: kernel start, imports, data, model), the training time (first -> last step) and
the end overhead (last step -> the notebook done: final evaluation, results, figures). Printed:
their means, the overhead as a fraction of a run, and the wall time of each mode with the speed-up,
all from this one invocation.

    python benchmarks/suite_overhead.py [--runs 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import mosaic_kit.experiments.suite as suite
from mosaic_kit.experiments.suite import load_plan, run_suite

TINY = {
    "backbone": "test_vit",
    "img_size": 32,
    "vol_size": 16,
    "bottleneck_a": 8,
    "bottleneck_b": 12,
    "bottleneck_c": 16,
    "batch_size": 16,
    "steps_per_dataset": 10,
    "rounds": 2,
    "warmup_steps": 5,
    "tracker": "none",
    "datasets": None,
}


class Watcher(threading.Thread):
    """Times of the first and last 'step' line of each run's metrics.jsonl, and of each
    notebook's suite.json."""

    def __init__(self, run_dirs) -> None:
        super().__init__(daemon=True)
        self.runs = [Path(d) for d in run_dirs]
        self.first, self.last, self.done = {}, {}, {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            now = time.time()
            for d in self.runs:
                m = d / "metrics.jsonl"
                if m.is_file():
                    rows = [
                        json.loads(x) for x in m.read_text().splitlines() if x.strip().endswith("}")
                    ]
                    steps = [r["step"] for r in rows if r.get("kind") == "step"]
                    if steps and d not in self.first:
                        self.first[d] = now
                    if steps and steps[-1] != self.last.get(d, (None, None))[0]:
                        self.last[d] = (steps[-1], now)
                if (d / "suite.json").is_file() and d not in self.done:
                    self.done[d] = now
            time.sleep(0.02)


def run_mode(folder: Path, n_runs: int, parallel: int) -> dict:
    plan_file = folder / "plan.yaml"
    plan_file.write_text(
        json.dumps(
            {
                "name": f"overhead-{parallel}",
                "preset": "cpu-tiny",
                "overrides": TINY,
                "methods": ["mos"],
                "seeds": list(range(1, n_runs + 1)),
                "datasets": [{"name": "pair", "datasets": ["breastmnist", "pathmnist"]}],
                "out": "runs",
                "report": "report",
            }
        )
    )
    plan = load_plan(plan_file, root=folder)
    watcher = Watcher([r.run_dir for r in plan.runs])
    watcher.start()
    t0 = time.time()
    starts = {}
    original = suite._execute

    def timed(spec, *args, **kw):  # note when each run's job starts
        starts[Path(spec.run_dir)] = time.time()
        return original(spec, *args, **kw)

    suite._execute = timed
    try:
        run_suite(plan, progress=False, max_parallel=parallel)
    finally:
        suite._execute = original
    wall = time.time() - t0
    watcher.stop.set()
    watcher.join()
    per = []
    for d in map(Path, (r.run_dir for r in plan.runs)):
        start, first, last, done = starts[d], watcher.first[d], watcher.last[d][1], watcher.done[d]
        per.append(
            {"start": first - start, "train": last - first, "end": done - last, "run": done - start}
        )
    return {"wall": wall, "per": per, "report": wall - max(w for w in watcher.done.values()) + t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=4)
    args = ap.parse_args()
    results = {}
    for parallel in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            results[parallel] = run_mode(Path(tmp), args.runs, parallel)
    seq = results[1]
    mean = {k: statistics.mean(p[k] for p in seq["per"]) for k in ("start", "train", "end", "run")}
    print(f"{args.runs} tiny runs (test_vit, 2 datasets, 2 rounds x 10 steps), one at a time:")
    print(
        f"  per run: {mean['run']:.1f} s = start overhead {mean['start']:.1f} s (job start -> "
        f"first step) + training {mean['train']:.1f} s + end overhead {mean['end']:.1f} s (last "
        "step -> notebook done)"
    )
    print(
        f"  overhead {mean['start'] + mean['end']:.1f} s = "
        f"{(mean['start'] + mean['end']) / mean['run']:.0%} of a run; report after the last run "
        f"{seq['report']:.1f} s"
    )
    print(
        f"wall: sequential {seq['wall']:.1f} s, --max-parallel 2 {results[2]['wall']:.1f} s -> "
        f"speed-up {seq['wall'] / results[2]['wall']:.2f}x"
    )


if __name__ == "__main__":
    main()
