"""How much of a score's interval is test-set noise, and what mean a claim against a published
number would need.

For each configuration (label) of the runs given and each dataset: the mean test score over seeds
with its 95% interval over seeds and test samples (the two-level bootstrap every report uses), the
median over seeds of one run's interval over the test samples alone (what no number of seeds
removes), and, for a reference number, the mean the configuration would need for the lower end of
its interval to clear it, assuming the interval keeps its width below the mean (``reference + mean -
low``).

    python benchmarks/sample_noise.py reports/cpu-real-seeds/runs --dataset adrenalmnist3d \\
        --reference 82.7

Reads each run's ``results.json`` and ``predictions.npz``; prints a markdown table.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mosaic_kit.reports.compare import N_BOOT, arm  # noqa: E402
from mosaic_kit.reports.table import find_runs, load_records  # noqa: E402
from mosaic_kit.stats import interval_of_mean  # noqa: E402


def rows(paths, datasets, metric: str, reference: float | None, n_boot: int):
    by_label = defaultdict(list)
    for r in load_records(find_runs(paths)):
        by_label[r.label].append(r)
    for label, records in sorted(by_label.items()):
        sample = arm(records, "test")
        names = datasets or sorted(next(iter(sample.values())))
        for d in names:
            both = interval_of_mean(sample, metric, [d], n_boot=n_boot)
            alone = [
                interval_of_mean({s: sample[s]}, metric, [d], n_boot=n_boot) for s in sorted(sample)
            ]
            half = float(np.median([(i.high - i.low) / 2 for i in alone]))
            n = len(next(iter(sample.values()))[d][0])
            need = reference / 100 + both.mean - both.low if reference is not None else float("nan")
            yield label, d, n, len(sample), both, half, need


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "paths", nargs="+", help="run directories or folders holding them (a report's runs/)"
    )
    p.add_argument(
        "--dataset", action="append", help="dataset(s) to show (default: every one the runs hold)"
    )
    p.add_argument("--metric", default="auc", choices=["auc", "acc"])
    p.add_argument("--reference", type=float, help="a published score in percent, e.g. 82.7")
    p.add_argument(
        "--n-boot", type=int, default=N_BOOT, help="bootstrap replicates (the reports' number)"
    )
    a = p.parse_args(argv)
    m = a.metric.upper()
    print(
        f"| label | dataset | test samples | seeds | mean {m} [95% interval, seeds and samples] | "
        "one run's half-width, samples alone (median over seeds) | mean needed for the lower end "
        f"to clear {a.reference} |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, d, n, k, both, half, need in rows(
        a.paths, a.dataset, a.metric, a.reference, a.n_boot
    ):
        print(
            f"| {label} | {d} | {n} | {k} | {100 * both.mean:.1f} [{100 * both.low:.1f}, "
            f"{100 * both.high:.1f}] | {100 * half:.1f} | "
            f"{'–' if np.isnan(need) else f'{100 * need:.1f}'} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
