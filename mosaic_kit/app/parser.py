"""The command line's parser: every subcommand, its flags and its help text (what each does is in
commands)."""

from __future__ import annotations

import argparse

from .commands import (
    TRAIN_FLAGS,
    _cmd_bundle,
    _cmd_eval,
    _cmd_export,
    _cmd_params,
    _cmd_predict,
    _cmd_train,
)
from .parser_parts import DESCRIPTION, _add_config_args, _add_run_args, _sub
from .parser_results import add_result_commands

__all__ = ["build_parser"]


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="python -m mosaic_kit", description=DESCRIPTION)
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
        "files",
        nargs="+",
        help="PNG/JPEG/TIFF/BMP, .npy, .nii[.gz] or DICOM files; a folder of such images (one "
        "prediction each) or of one DICOM series",
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
    p.add_argument(
        "--csv", metavar="FILE", help="also write the predictions and every class probability"
    )
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

    add_result_commands(sub)
    return parser
