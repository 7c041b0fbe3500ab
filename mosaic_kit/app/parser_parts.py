"""What each subcommand is for, in the words python -m mosaic_kit COMMAND --help prints."""

from __future__ import annotations

import argparse
from typing import Optional

from ..config import available_presets

__all__ = []


#: Each subcommand's description and examples (shown by ``python -m mosaic_kit COMMAND --help``).
_ABOUT = {
    "params": (
        "Count trainable and total parameters by component (backbone, tokenizer, adapters, heads) "
        "without training or loading weights.",
        [
            "python -m mosaic_kit params --preset paper",
            "python -m mosaic_kit params --preset cpu-tiny --set method=lora --set lora_rank=4 "
            "--json",
        ],
    ),
    "train": (
        "Train a method on MedMNIST datasets (the embedded synthetic suite by default) and write a "
        "run directory: checkpoints, metrics.jsonl, results.json, per-sample predictions and "
        "figures. An interrupted run continues from its last checkpoint with --resume.",
        [
            "python -m mosaic_kit train --preset cpu-tiny --out runs/demo",
            "python -m mosaic_kit train --preset cpu-real --set weights=deit_tiny.safetensors "
            "--data-root data/medmnist",
            "python -m mosaic_kit train --preset cpu-tiny --set method=lora --dry-run",
            "python -m mosaic_kit train --resume runs/demo",
        ],
    ),
    "eval": (
        "Score a run's checkpoint on its datasets' validation and test splits again (e.g. after "
        "moving the run or its data).",
        [
            "python -m mosaic_kit eval runs/demo",
            "python -m mosaic_kit eval runs/demo --checkpoint last --set data_root=/data/medmnist",
        ],
    ),
    "predict": (
        "Classify image or volume files with a trained run; prints one row per file with the "
        "predicted class and the class probabilities.",
        [
            "python -m mosaic_kit predict runs/demo scan.png --dataset breastmnist",
            "python -m mosaic_kit predict runs/demo ct.nii.gz --dataset adrenalmnist3d --window "
            "-1000,400 --json",
        ],
    ),
    "export": (
        "Export one dataset's path (tokenizer, routed specialist, head) to ONNX or TorchScript, "
        "with a metadata file beside it.",
        [
            "python -m mosaic_kit export runs/demo --dataset breastmnist",
            "python -m mosaic_kit export runs/demo --dataset breastmnist --format torchscript",
        ],
    ),
    "bundle": (
        "Write a trained run as a bundle: its trainable tensors, resolved configuration, results, "
        "class names, the backbone named by timm name and sha256, and a model card (README.md); "
        "load it with mosaic_kit.load(DIR) or predict DIR, or from the Hub as hf:OWNER/NAME.",
        [
            "python -m mosaic_kit bundle runs/demo --out bundles/demo",
            "python -m mosaic_kit bundle runs/demo --out bundles/demo --push-to-hub me/mosaic-demo",
            "python -m mosaic_kit predict hf:me/mosaic-demo scan.png --dataset breastmnist",
        ],
    ),
    "report": (
        "Write a run's figures (learning curves, per-dataset scores) and its results table.",
        ["python -m mosaic_kit report runs/demo"],
    ),
    "table": (
        "Aggregate finished runs into one table (markdown, CSV, LaTeX, figures): seeds of one "
        "configuration are averaged with 95% intervals over seeds and test samples, and every "
        "label is judged against --baseline on validation by the paired comparison.",
        [
            "python -m mosaic_kit table runs/cpu-real --out reports/my-table",
            "python -m mosaic_kit table runs/a runs/b --label lora --label baseline --out "
            "reports/a-vs-b",
        ],
    ),
    "compare": (
        "Paired comparison of two configurations over the seeds both ran and the same samples (t "
        "over seeds plus the samples' bootstrap variance): the difference, its 95% interval and a "
        "verdict (at least 5 seeds); with --margin, 'equivalent within ±m' and the seeds needed to "
        "detect m; with one side only, its interval against the published ResNet-18 and the "
        "majority class (real data only).",
        [
            "python -m mosaic_kit compare runs/lora --against runs/mosaic --split val --checkpoint "
            "last",
            "python -m mosaic_kit compare runs/lora --against runs/mosaic --margin acc=1,auc=2",
            "python -m mosaic_kit compare runs/cpu-real",
        ],
    ),
    "suite": (
        "Run every (method, datasets, seed) of a plan through the training notebook with "
        "papermill, resuming where it stopped, then rebuild the plan's report.",
        [
            "python -m mosaic_kit suite --plan plans/cpu-small.yaml --dry-run",
            "python -m mosaic_kit suite --plan plans/cpu-small.yaml",
            "python -m mosaic_kit suite --plan plans/cpu-small.yaml --report-only",
        ],
    ),
    "synth": (
        "Write the embedded synthetic suite (small procedurally generated stand-ins for the 18 "
        "MedMNIST files) as npz files in the official layout.",
        ["python -m mosaic_kit synth --out data/synthetic --datasets 2d"],
    ),
    "download": (
        "Download the official MedMNIST npz files of the configured datasets and sizes into "
        "data_root, checking each file's md5.",
        [
            "python -m mosaic_kit download --preset cpu-real",
            "python -m mosaic_kit download --set datasets=breastmnist,adrenalmnist3d --set "
            "data_root=data/medmnist",
        ],
    ),
    "methods": ("List the methods and what each trains.", ["python -m mosaic_kit methods"]),
    "keys": (
        "List every configuration key with its default and meaning (set them with --set KEY=VALUE "
        "or a YAML file).",
        ["python -m mosaic_kit keys | grep 3d"],
    ),
}


DESCRIPTION = (
    "mosaic_kit: one frozen Vision Transformer for all 18 MedMNIST datasets through hard-routed "
    "specialists (MOSAIC), and the parameter-efficient baselines beside it. Start with "
    "`python -m mosaic_kit train --preset cpu-tiny --out runs/demo`; `COMMAND --help` says more."
)


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
