"""Is the kit's paired rule calibrated? False-alarm rate, coverage and power of three rules on
semi-synthetic arms built from the committed runs' own per-sample structure
(``mosaic_kit.stats.nulls``): per-sample means plus seed deviation vectors (seed main effects kept),
a fresh test set per replicate, at 3, 5 and 10 seeds, for ACC and AUC, per dataset and for the mean
over datasets.

Sources (test split, reported checkpoint, student):

- ``adrenal3d-mosaic`` / ``adrenal3d-single``: AdrenalMNIST3D of ``generalist-real4``'s MOSAIC /
  single-task runs;
- ``pneumonia-mosaic``: PneumoniaMNIST of the same MOSAIC runs;
- ``mean4-mosaic``: the mean over its four files (Retina, Breast, Pneumonia, Adrenal3D), one seed
  deviation per run shared by its four datasets;
- ``*-pair``: arms that differ sample by sample (``samples`` nulls): MOSAIC's and single-task's
  per-sample means swapped at random per sample.

    python benchmarks/calibration.py --reps 200 --out reports/calibration  # about 2 h on one core
    python benchmarks/calibration.py --quick                                         # a few minutes
    # a part, on another core
    python benchmarks/calibration.py --sources mean4-pair --out /tmp/part2
    python benchmarks/calibration.py --merge reports/calibration /tmp/part2 \\
        --out reports/calibration

Writes ``results.md`` (the tables), ``results.json`` (every cell) and ``calibration.png`` to
``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mosaic_kit.data.registry import get_info  # noqa: E402
from mosaic_kit.reports.compare import arm  # noqa: E402
from mosaic_kit.reports.table import find_runs, load_records  # noqa: E402
from mosaic_kit.stats.calibration import RULES, Cell, calibrate  # noqa: E402
from mosaic_kit.stats.calibration_text import calibration_md, summary_md, worst  # noqa: E402
from mosaic_kit.stats.nulls import structure_from_samples  # noqa: E402

GENERALIST = ROOT / "reports" / "generalist-real4" / "runs"
MEAN4 = ["retinamnist", "breastmnist", "pneumoniamnist", "adrenalmnist3d"]


def label_sample(label: str, runs: Path = GENERALIST):
    """``{seed: {dataset: (labels, scores)}}`` of one committed label's runs (test split,
    reported checkpoint)."""
    return arm(load_records(find_runs([runs / label]), split=False), "test", "best")


def sources(names=None):
    """The named structures (module docstring) from the committed runs."""
    mos, single = label_sample("mosaic"), label_sample("single-task")

    def one(datasets, *samples):
        return structure_from_samples(list(samples), {d: get_info(d).task for d in datasets})

    table = {
        "adrenal3d-mosaic": lambda: (one(["adrenalmnist3d"], mos), ["seeds"]),
        "adrenal3d-single": lambda: (one(["adrenalmnist3d"], single), ["seeds"]),
        "adrenal3d-pair": lambda: (one(["adrenalmnist3d"], mos, single), ["samples"]),
        "pneumonia-mosaic": lambda: (one(["pneumoniamnist"], mos), ["seeds"]),
        "pneumonia-pair": lambda: (one(["pneumoniamnist"], mos, single), ["samples"]),
        "mean4-mosaic": lambda: (one(MEAN4, mos), ["seeds"]),
        "mean4-pair": lambda: (one(MEAN4, mos, single), ["samples"]),
    }
    return {k: v() for k, v in table.items() if names is None or k in names}


def plot(cells, path: Path) -> None:
    import matplotlib.pyplot as plt

    nulls = [c for c in cells if c.shift == 0]
    rows = sorted({(c.source, c.kind, c.n_seeds) for c in nulls})
    rules = list(dict.fromkeys(c.rule for c in nulls))
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.32 * len(rows) + 1.8), sharey=True)
    for ax, m in zip(axes, ("acc", "auc")):
        for j, r in enumerate(rules):
            for i, key in enumerate(rows):
                c = next(
                    (
                        c
                        for c in nulls
                        if (c.source, c.kind, c.n_seeds) == key and c.rule == r and c.metric == m
                    ),
                    None,
                )
                if c is None:
                    continue
                ax.errorbar(
                    100 * c.rate,
                    i + 0.2 * (j - 1),
                    xerr=200 * c.rate_se,
                    fmt="o",
                    ms=4,
                    capsize=2,
                    color=f"C{j}",
                    label=r if i == 0 else None,
                )
        ax.axvline(5, color="k", lw=0.8, ls="--")
        ax.set(xlabel=f"{m.upper()}: false alarms under a null, % (±2 MC s.e.; nominal 5%)")
    axes[0].set_yticks(range(len(rows)), [f"{s} ({k}), {n} seeds" for s, k, n in rows], fontsize=7)
    axes[0].invert_yaxis()
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _write(out: Path, data: dict) -> None:
    (out / "results.json").write_text(json.dumps(data, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--boot", type=int, default=400, help="sample resamples per comparison")
    ap.add_argument("--seeds", type=int, nargs="+", default=[3, 5, 10])
    ap.add_argument(
        "--shifts",
        type=float,
        nargs="+",
        default=[0.0, 0.5],
        help="planted log-score shifts of arm A's true class (0: a null)",
    )
    ap.add_argument(
        "--shift-seeds",
        type=int,
        nargs="+",
        default=[5],
        help="the numbers of seeds at which planted shifts (power) are measured; nulls: all of "
        "--seeds",
    )
    ap.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        help="folders of earlier runs' results.json: one report of all",
    )
    ap.add_argument("--rules", nargs="+", default=list(RULES))
    ap.add_argument("--sources", nargs="+", default=None)
    ap.add_argument(
        "--quick", action="store_true", help="100 replicates, 5 seeds, nulls only, three sources"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "calibration")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.seeds, args.shifts = 100, [5], [0.0]
        args.sources = args.sources or ["adrenal3d-single", "pneumonia-pair", "mean4-pair"]
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if args.merge:
        runs = [json.loads((d / "results.json").read_text()) for d in args.merge]
        try:
            cells = [Cell(**c) for run in runs for c in run["cells"]]
        except (KeyError, TypeError) as e:
            raise SystemExit(
                f"--merge: a results.json is not this benchmark's output ({e}); give folders "
                "written by `python benchmarks/calibration.py --out DIR`."
            ) from None
        seconds = sum(float(run.get("seconds", 0)) for run in runs)
        how = "; ".join(f"`python benchmarks/calibration.py {run['command']}`" for run in runs)
        _write(
            args.out,
            {
                "command": " ".join(sys.argv[1:]),
                "parts": runs,
                "seconds": seconds,
                "cells": [asdict(c) for c in cells],
            },
        )
    else:
        cells = []
        for name, (st, kinds) in sources(args.sources).items():
            for n in args.seeds:
                shifts = [s for s in args.shifts if s == 0 or n in args.shift_seeds]
                cells += calibrate(
                    st,
                    name,
                    args.rules,
                    kinds,
                    [n],
                    shifts,
                    args.reps,
                    args.boot,
                    progress=lambda s: print(f"[{time.time() - t0:6.0f} s] {s}", flush=True),
                )
                seconds, how = (
                    time.time() - t0,
                    f"`python benchmarks/calibration.py {' '.join(sys.argv[1:])}`",
                )
                _write(
                    args.out,
                    {
                        "command": " ".join(sys.argv[1:]),
                        "seconds": seconds,
                        "cells": [asdict(c) for c in cells],
                    },
                )
    w = worst(cells)
    reps = sorted({c.reps for c in cells})
    text = (
        f"# Calibration of the paired rule\n\n{how}: {', '.join(map(str, reps))} replicates per "
        f"row, {args.boot} sample resamples per comparison, {seconds / 3600:.1f} h of one core.\n\n"
        + summary_md(cells)
        + "\nEvery cell:\n\n"
        + calibration_md(cells)
        + f"\nWorst null cells of the kit's rule: false alarms {w['excess_se']:+.1f} MC s.e. above "
        f"5%, coverage {w['shortfall_se']:+.1f} MC s.e. below 95% (negative: inside); worst "
        f"planted-effect cell: coverage {w['planted_shortfall_se']:+.1f} MC s.e. below 95%.\n"
    )
    (args.out / "results.md").write_text(text)
    plot(cells, args.out / "calibration.png")
    print(text)


if __name__ == "__main__":
    main()
