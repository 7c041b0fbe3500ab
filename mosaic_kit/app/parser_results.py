"""The command line's subcommands that read finished runs or list what the kit has: report, table,
compare, suite, synth, download, methods, keys."""

from __future__ import annotations

import argparse

from .catalog import _cmd_download, _cmd_keys, _cmd_methods, _cmd_synth
from .parser_parts import _add_config_args, _sub
from .reporting import _cmd_compare, _cmd_report, _cmd_suite, _cmd_table

__all__ = ["add_result_commands"]


def add_result_commands(sub: argparse._SubParsersAction) -> None:
    """Add report, table, compare, suite, synth, download, methods and keys to ``sub``."""
    p = _sub(sub, "report", help="figures and the results table of a run")
    p.add_argument("run_dir")
    p.set_defaults(func=_cmd_report)

    p = _sub(
        sub, "table", help="aggregate run directories into the 18-dataset table (md, csv, tex, png)"
    )
    p.add_argument("runs", nargs="+", help="run directories, or folders searched for them")
    p.add_argument("--out", required=True, help="report folder, e.g. reports/my-table")
    p.add_argument("--title", default="Results")
    p.add_argument("--which", default="student", choices=("student", "teacher"))
    p.add_argument(
        "--baseline", default="baseline", help="label the others are judged against on validation"
    )
    p.add_argument(
        "--margin",
        help="smallest effect of interest in points, e.g. acc=1,auc=2: levers within it on "
        "both metrics read 'no effect within ±m'",
    )
    p.add_argument(
        "--label",
        action="append",
        metavar="NAME",
        help="name of the runs under each RUNS entry, one "
        "per entry in the same order (default: the suite's label, else the method)",
    )
    p.set_defaults(func=_cmd_table)

    p = _sub(
        sub,
        "compare",
        help="paired comparison of two configurations' runs (or one against ResNet-18)",
    )
    p.add_argument(
        "a", nargs="+", help="runs of configuration A (run directories or folders of runs)"
    )
    p.add_argument(
        "--against",
        dest="b",
        nargs="+",
        help="runs of configuration B; without it, A's interval "
        "against the published ResNet-18 and the majority class",
    )
    p.add_argument("--split", default="test", choices=("val", "test"))
    p.add_argument(
        "--checkpoint",
        default="best",
        choices=("best", "last"),
        help="last: the last round's (choose on it)",
    )
    p.add_argument("--metric", default="acc,auc")
    p.add_argument(
        "--boot",
        type=_resamples,
        default=4000,
        help="bootstrap resamples of the samples (2 to 100000)",
    )
    p.add_argument(
        "--margin",
        help="smallest effect of interest in points, e.g. acc=1,auc=2 (or one number for "
        "both): adds 'equivalent within ±m' verdicts and the seeds needed to detect it",
    )
    p.set_defaults(func=_cmd_compare)

    p = _sub(
        sub, "suite", help="run a plan's training notebooks via papermill, then rebuild its report"
    )
    p.add_argument("--plan", required=True, help="plan YAML, e.g. plans/cpu-small.yaml")
    p.add_argument(
        "--notebooks", help="folder of the kit's notebooks (default: the clone's notebooks/)"
    )
    p.add_argument("--kernel", default="python3", help="Jupyter kernel name for papermill")
    p.add_argument("--dry-run", action="store_true", help="list pending runs without running them")
    p.add_argument(
        "--report-only", action="store_true", help="rebuild the report from finished runs only"
    )
    p.add_argument(
        "--max-parallel",
        type=int,
        default=1,
        metavar="N",
        help="runs at once on this machine (one GPU each, or an equal share of the CPU threads)",
    )
    p.add_argument(
        "--executor",
        default="local",
        choices=("local", "slurm", "submitit-local"),
        help="where runs go: this machine, SLURM jobs, or submitit's local executor",
    )
    p.add_argument(
        "--slurm",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="job resources over the "
        "plan's slurm: gpus_per_run, cpus_per_run, mem_gb, time_min, partition, account",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="with --executor: wait for the jobs, then build the report",
    )
    p.set_defaults(func=_cmd_suite)

    p = _sub(sub, "synth", help="write the embedded synthetic suite as npz files")
    p.add_argument("--out", required=True)
    p.add_argument("--datasets", default="all")
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--size-3d", dest="size_3d", type=int, default=28)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_synth)

    p = _sub(sub, "download", help="download official MedMNIST npz files (needs network)")
    _add_config_args(p)
    p.set_defaults(func=_cmd_download)

    p = _sub(sub, "methods", help="list the methods (--set method=NAME)")
    p.set_defaults(func=_cmd_methods)

    p = _sub(sub, "keys", help="list configuration keys, defaults and meaning")
    p.set_defaults(func=_cmd_keys)


def _resamples(text: str) -> int:
    """``--boot``: a whole number of resamples an interval can be built from, and memory holds."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 2 <= n <= 100_000:
        raise argparse.ArgumentTypeError(
            f"{n} resamples: give 2 to 100000 (4000, the default, is plenty for a 95% interval)"
        )
    return n
