"""The subcommands that read finished runs: report (one run's figures), table, compare and suite."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

__all__ = []


def _cmd_report(args: argparse.Namespace) -> int:
    from ..evaluation.results import load_results, markdown_table
    from ..viz.run_figures import save_run_figures

    for path in save_run_figures(args.run_dir):
        print(f"figure: {path}")
    print(markdown_table(load_results(args.run_dir)))
    return 0


def _out_folder(out: str, flag: str = "--out") -> str:
    """A report or data folder to write into: never an existing file, never the current folder."""
    if str(out).strip() in ("", "."):
        raise ValueError(
            f"{flag} is empty (or '.'): give a folder of its own, e.g. reports/my-table."
        )
    if Path(out).exists() and not Path(out).is_dir():
        raise ValueError(
            f"{flag} {out} is an existing file; this command writes a folder of files there. "
            "Choose another path (nothing was written)."
        )
    return out


def _cmd_table(args: argparse.Namespace) -> int:
    from ..reports import write_report
    from ..reports.compare_text import parse_margins

    margins = parse_margins(args.margin)
    _out_folder(args.out)
    paths = write_report(
        args.runs,
        args.out,
        title=args.title,
        which=args.which,
        baseline=args.baseline,
        labels=args.label,
        smallest_effect={k: 100 * v for k, v in (margins or {}).items()},
    )
    print(paths["md"].read_text() + "\n".join(f"{kind}: {path}" for kind, path in paths.items()))
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from ..reports.compare_text import compare_text, parse_margins
    from ..reports.table import find_runs

    for side in filter(None, (args.a, args.b)):
        if not find_runs(side):
            raise ValueError(
                f"no finished runs (a folder with a results.json) under {' '.join(side)}; "
                "give run directories or folders that hold them."
            )
    if args.boot < 2:
        raise ValueError(f"--boot {args.boot}: give at least 2 bootstrap resamples (default 4000).")
    margins = parse_margins(args.margin)
    print(
        compare_text(
            args.a, args.b, args.split, args.checkpoint, args.metric.split(","), args.boot, margins
        )
    )
    return 0


def _cmd_suite(args: argparse.Namespace) -> int:
    from ..experiments.suite import build_report, is_done, load_plan, run_suite

    plan = load_plan(args.plan)
    if args.report_only:  # runs not finished yet are left out of the report; its title counts them
        finished = sum(map(is_done, plan.runs))
        if not finished:
            raise FileNotFoundError(
                f"plan '{plan.name}': none of its {len(plan.runs)} runs has finished (in "
                f"{plan.out}), so there is nothing to report; run `python -m mosaic_kit suite "
                f"--plan {args.plan}` first."
            )
        plan.title += f" ({finished} of {len(plan.runs)} runs finished)"
        print(f"{plan.title}: {build_report(plan, args.notebooks, args.kernel)}/results.md")
        return 0
    if args.executor != "local":
        from ..experiments.cluster import Resources, format_states, run_on_cluster

        if any("=" not in item for item in args.slurm):
            raise ValueError(f"--slurm expects KEY=VALUE items, got {args.slurm}.")
        given = dict(item.split("=", 1) for item in args.slurm)
        resources = Resources.from_plan(
            plan, {k.strip(): yaml.safe_load(v) for k, v in given.items()}
        )
        cluster = "local" if args.executor == "submitit-local" else args.executor
        print(
            format_states(
                run_on_cluster(plan, resources, cluster, args.notebooks, args.kernel, args.wait)
            )
        )
        return 0
    summary = run_suite(
        plan,
        notebooks=args.notebooks,
        kernel=args.kernel,
        dry_run=args.dry_run,
        max_parallel=args.max_parallel,
    )
    if args.dry_run:
        print(
            f"plan '{plan.name}': {summary['runs']} runs, {summary['skipped']} done, "
            f"{len(summary['pending'])} "
            "to run:" + "".join(f"\n  {d}" for d in summary["pending"])
        )
        if summary["missing"]:
            print(
                "error: these runs would fail at their start:\n  "
                + "\n  ".join(summary["missing"]),
                file=sys.stderr,
            )
            return 2
        return 0
    print(
        f"plan '{plan.name}': ran {len(summary['executed'])}, skipped {summary['skipped']} already "
        f"done; report in {summary['report']}/results.md"
    )
    return 0
