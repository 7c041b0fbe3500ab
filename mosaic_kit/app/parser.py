"""The command line's parser: every subcommand, its flags and its help text (what each does is in
commands)."""

from __future__ import annotations

import argparse
from typing import Optional

from ..config import available_presets
from .about import _ABOUT
from .commands import (
    TRAIN_FLAGS,
    _cmd_bundle,
    _cmd_download,
    _cmd_eval,
    _cmd_export,
    _cmd_keys,
    _cmd_methods,
    _cmd_params,
    _cmd_predict,
    _cmd_synth,
    _cmd_train,
)
from .reporting import _cmd_compare, _cmd_report, _cmd_suite, _cmd_table

__all__ = ["build_parser"]


def _add_config_args(p: argparse.ArgumentParser, default_preset: Optional[str] = None) -> None:
    p.add_argument(
        "--preset", default=default_preset, help=f"one of: {', '.join(available_presets())}"
    )
    p.add_argument("--config", help="YAML file of configuration keys (applied after the preset)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key (repeatable)",
    )
    p.add_argument("--out", help="run directory (same as --set out=DIR)")


def _add_run_args(p: argparse.ArgumentParser, teacher: bool = True) -> None:
    """The options of every command that loads a trained run: which checkpoint (and net), and
    where the backbone weights are now when the run has moved to another machine."""
    p.add_argument(
        "--checkpoint",
        default="best",
        choices=("best", "last"),
        help="the best-validation or the last round's checkpoint (default: best)",
    )
    if teacher:
        p.add_argument(
            "--teacher", action="store_true", help="the EMA teacher instead of the student"
        )
    p.add_argument(
        "--weights",
        metavar="PATH",
        help="the backbone weights file, where it is now (the run recorded "
        "its sha256, which must match)",
    )


def _sub(sub, name: str, help: str) -> argparse.ArgumentParser:
    about, examples = _ABOUT[name]
    return sub.add_parser(
        name,
        help=help,
        description=about,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n" + "\n".join(f"  {e}" for e in examples),
    )


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="python -m mosaic_kit", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mosaic_kit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = _sub(sub, "params", help="parameter report by component")
    _add_config_args(p, "paper")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_params)

    p = _sub(sub, "train", help="train MOSAIC (or resume a run)")
    _add_config_args(p)
    for flag in TRAIN_FLAGS:
        p.add_argument("--" + flag.replace("_", "-"), dest=flag, help=f"same as --set {flag}=...")
    p.add_argument(
        "--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint"
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the resolved configuration and what the run would "
        "do, then stop (nothing is written)",
    )
    p.set_defaults(func=_cmd_train)

    p = _sub(sub, "eval", help="reload a run's checkpoint and score it on val and test")
    p.add_argument("run_dir")
    _add_run_args(p, teacher=False)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override keys of the run's config (e.g. data_root, device)",
    )
    p.set_defaults(func=_cmd_eval)

    p = _sub(sub, "predict", help="classify your own images or volumes with a trained run")
    p.add_argument("run_dir")
    p.add_argument(
        "files", nargs="+", help="PNG/JPEG/TIFF/BMP, .npy, .nii[.gz], DICOM file or series folder"
    )
    p.add_argument(
        "--dataset", required=True, help="which of the run's datasets the inputs belong to"
    )
    p.add_argument(
        "--window",
        metavar="LOW,HIGH",
        help="intensity window for inputs that are not 8-bit (e.g. CT: --window -1000,400)",
    )
    p.add_argument("--attention", metavar="DIR", help="write attention-overlay PNGs into DIR")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    _add_run_args(p)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default: cpu)")
    p.set_defaults(func=_cmd_predict)

    p = _sub(sub, "export", help="export one dataset's path of a run to ONNX or TorchScript")
    p.add_argument("run_dir")
    p.add_argument("--dataset", required=True)
    p.add_argument("--format", default="onnx", choices=("onnx", "torchscript"))
    p.add_argument("--out", help="output file (default: RUN/export/DATASET.onnx or .pt)")
    _add_run_args(p)
    p.set_defaults(func=_cmd_export)

    p = _sub(
        sub,
        "bundle",
        help="save a run as a self-contained bundle with its model card (and push it to the Hub)",
    )
    p.add_argument(
        "run_dir", help="a finished run directory (or, with --push-to-hub alone, a bundle folder)"
    )
    p.add_argument("--out", help="new folder for the bundle, e.g. bundles/my-adapter")
    p.add_argument(
        "--checkpoint",
        default="best",
        choices=("best", "last"),
        help="which checkpoint (default: best)",
    )
    p.add_argument(
        "--push-to-hub",
        metavar="OWNER/NAME",
        help="upload the bundle to this Hugging Face Hub repository "
        "(needs network and a token: `huggingface-cli login` or HF_TOKEN)",
    )
    p.add_argument("--private", action="store_true", help="create the Hub repository as private")
    p.set_defaults(func=_cmd_bundle)

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
        "--boot", type=int, default=4000, help="bootstrap resamples of the samples (at least 2)"
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
    return parser
