"""Command line: ``python -m mosaic_kit {params,train,eval,predict,export,report,table,suite,methods,synth,download,
keys}``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml
from typing import Dict, List, Optional

from .config import Config, available_presets, key_help, load_config, parse_set

# convenience flags of `train` (--data-root X is --set data_root=X)
TRAIN_FLAGS = ("data_root", "datasets", "size", "size_3d", "backbone", "weights", "device", "seed")


def _add_config_args(p: argparse.ArgumentParser, default_preset: Optional[str] = None) -> None:
    p.add_argument("--preset", default=default_preset, help=f"one of: {', '.join(available_presets())}")
    p.add_argument("--config", help="YAML file of configuration keys (applied after the preset)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a key (repeatable)")
    p.add_argument("--out", help="run directory (same as --set out=DIR)")


def _config_from(args: argparse.Namespace, extra: Optional[Dict[str, object]] = None) -> Config:
    overrides = parse_set(args.set)
    for key in TRAIN_FLAGS:
        value = getattr(args, key, None)
        if value is not None:
            overrides.update(parse_set([f"{key}={value}"]))
    if getattr(args, "out", None):
        overrides["out"] = args.out
    overrides.update(extra or {})
    return load_config(args.preset, args.config, overrides)


def _cmd_params(args: argparse.Namespace) -> int:
    from .methods import build_model, parameter_report

    cfg = _config_from(args, {"weights": None})
    report = {"preset": args.preset, "backbone": cfg.backbone, **parameter_report(build_model(cfg)[0])}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{cfg.backbone}, {len(cfg.datasets)} dataset group(s) {cfg.datasets}")
    print(f"{'component':<14}{'trainable':>14}{'total':>14}")
    for name, c in report["components"].items():
        print(f"{name:<14}{c['trainable']:>14,}{c['total']:>14,}")
    print(f"{'all':<14}{report['trainable']:>14,}{report['total']:>14,}  ({report['trainable_pct']:.2f}% trainable)")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from . import distributed
    from .results import markdown_table, load_results
    from .train import train

    try:
        if args.resume:
            # the run's own config.yaml unless --preset / --config say otherwise; either way, only the keys a resume
            # may change (rounds, patience, ...) may differ from what the run started with (checked before training)
            if args.out and Path(args.out) != Path(args.resume):
                raise ValueError(f"--out {args.out} and --resume {args.resume} name different run directories.")
            args.out = args.resume
            if not (args.preset or args.config):
                args.config = str(Path(args.resume) / "config.yaml")
            run_dir = train(_config_from(args), resume=True)
        else:
            run_dir = train(_config_from(args))
    finally:
        main = distributed.is_main()
        distributed.shutdown()
    if main:
        print(f"\nrun directory: {run_dir}\n")
        print(markdown_table(load_results(run_dir)))
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from .results import markdown_table
    from .runs import evaluate_run, evaluation_name

    overrides = parse_set(args.set) or None
    results = evaluate_run(args.run_dir, args.checkpoint, overrides=overrides)
    print(markdown_table(results))
    print(f"written to {Path(args.run_dir) / evaluation_name(args.checkpoint, overrides)}.json (the training's "
          "results.json is unchanged)")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .plots import save_run_figures
    from .results import load_results, markdown_table

    for path in save_run_figures(args.run_dir):
        print(f"figure: {path}")
    print(markdown_table(load_results(args.run_dir)))
    return 0


def _cmd_table(args: argparse.Namespace) -> int:
    from .reports import write_report

    paths = write_report(args.runs, args.out, title=args.title, which=args.which, baseline=args.baseline)
    print(paths["md"].read_text() + "\n".join(f"{kind}: {path}" for kind, path in paths.items()))
    return 0


def _cmd_suite(args: argparse.Namespace) -> int:
    from .suite import build_report, is_done, load_plan, run_suite

    plan = load_plan(args.plan)
    if args.report_only:  # runs not finished yet are left out of the report; its title counts them
        plan.title += f" ({sum(map(is_done, plan.runs))} of {len(plan.runs)} runs finished)"
        print(f"{plan.title}: {build_report(plan, args.notebooks, args.kernel)}/results.md")
        return 0
    if args.executor != "local":
        from .cluster import Resources, format_states, run_on_cluster

        if any("=" not in item for item in args.slurm):
            raise ValueError(f"--slurm expects KEY=VALUE items, got {args.slurm}.")
        given = dict(item.split("=", 1) for item in args.slurm)
        resources = Resources.from_plan(plan, {k.strip(): yaml.safe_load(v) for k, v in given.items()})
        cluster = "local" if args.executor == "submitit-local" else args.executor
        print(format_states(run_on_cluster(plan, resources, cluster, args.notebooks, args.kernel, args.wait)))
        return 0
    summary = run_suite(plan, notebooks=args.notebooks, kernel=args.kernel, dry_run=args.dry_run,
                        max_parallel=args.max_parallel)
    if args.dry_run:
        print(f"plan '{plan.name}': {summary['runs']} runs, {summary['skipped']} done, {len(summary['pending'])} "
              "to run:" + "".join(f"\n  {d}" for d in summary["pending"]))
        return 0
    print(f"plan '{plan.name}': ran {len(summary['executed'])}, skipped {summary['skipped']} already done; "
          f"report in {summary['report']}/results.md")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from .data import write_suite
    from .registry import resolve_datasets

    root = write_suite(args.out, resolve_datasets(args.datasets), size=args.size, size_3d=args.size_3d,
                       seed=args.seed)
    print(f"synthetic MedMNIST written to {root}")
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    from .data import download
    from .registry import get_info, resolve_datasets

    cfg = _config_from(args)
    if cfg.data_root == "synthetic":
        raise ValueError("download needs a real folder: --set data_root=PATH")
    for name in resolve_datasets(cfg.datasets):
        size = cfg.size_3d if get_info(name).is_3d else cfg.size
        print(f"{name} ({size}): {download(name, size, cfg.data_root)}")
    return 0


def _cmd_methods(args: argparse.Namespace) -> int:
    from .methods import METHODS

    for m in METHODS.values():
        print(f"{m.name:<16} {m.summary}")
    return 0


def _cmd_keys(args: argparse.Namespace) -> int:
    defaults = Config().to_dict()
    for key, text in key_help().items():
        print(f"{key:<20} {str(defaults[key]):<24} {text}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from .predict import predict_command

    return predict_command(args.run_dir, args.files, args.dataset, args.window, args.attention, args.json,
                           args.checkpoint, "teacher" if args.teacher else "student", args.device)


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import export

    paths = export(args.run_dir, args.dataset, args.format, args.out, args.checkpoint,
                   "teacher" if args.teacher else "student")
    print("\n".join(f"wrote {p}" for p in paths))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mosaic_kit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("params", help="parameter report by component")
    _add_config_args(p, "paper")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_params)

    p = sub.add_parser("train", help="train MOSAIC (or resume a run)")
    _add_config_args(p)
    for flag in TRAIN_FLAGS:
        p.add_argument("--" + flag.replace("_", "-"), dest=flag, help=f"same as --set {flag}=...")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("eval", help="reload a run's checkpoint and score it on val and test")
    p.add_argument("run_dir")
    p.add_argument("--checkpoint", default="best", choices=("best", "last"))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override keys of the run's config (e.g. data_root, device)")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("predict", help="classify your own images or volumes with a trained run")
    p.add_argument("run_dir")
    p.add_argument("files", nargs="+", help="PNG/JPEG/TIFF/BMP, .npy, .nii[.gz], DICOM file or series folder")
    p.add_argument("--dataset", required=True, help="which of the run's datasets the inputs belong to")
    p.add_argument("--window", help="LOW,HIGH intensity window for inputs that are not 8-bit (e.g. CT: -1000,400)")
    p.add_argument("--attention", metavar="DIR", help="write attention-overlay PNGs into DIR")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    p.add_argument("--checkpoint", default="best", choices=("best", "last"))
    p.add_argument("--teacher", action="store_true", help="use the EMA teacher instead of the student")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("export", help="export one dataset's path of a run to ONNX or TorchScript")
    p.add_argument("run_dir")
    p.add_argument("--dataset", required=True)
    p.add_argument("--format", default="onnx", choices=("onnx", "torchscript"))
    p.add_argument("--out", help="output file (default: RUN/export/DATASET.onnx or .pt)")
    p.add_argument("--checkpoint", default="best", choices=("best", "last"))
    p.add_argument("--teacher", action="store_true", help="export the EMA teacher instead of the student")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("report", help="figures and the results table of a run")
    p.add_argument("run_dir")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("table", help="aggregate run directories into the 18-dataset table (md, csv, tex, png)")
    p.add_argument("runs", nargs="+", help="run directories, or folders searched for them")
    p.add_argument("--out", required=True, help="report folder, e.g. reports/my-table")
    p.add_argument("--title", default="Results")
    p.add_argument("--which", default="student", choices=("student", "teacher"))
    p.add_argument("--baseline", default="baseline", help="label the others are judged against on validation")
    p.set_defaults(func=_cmd_table)

    p = sub.add_parser("suite", help="run a plan's training notebooks via papermill, then rebuild its report")
    p.add_argument("--plan", required=True, help="plan YAML, e.g. plans/cpu-small.yaml")
    p.add_argument("--notebooks", help="folder of the kit's notebooks (default: the clone's notebooks/)")
    p.add_argument("--kernel", default="python3", help="Jupyter kernel name for papermill")
    p.add_argument("--dry-run", action="store_true", help="list pending runs without running them")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from finished runs only")
    p.add_argument("--max-parallel", type=int, default=1, metavar="N",
                   help="runs at once on this machine (one GPU each, or an equal share of the CPU threads)")
    p.add_argument("--executor", default="local", choices=("local", "slurm", "submitit-local"),
                   help="where runs go: this machine, SLURM jobs, or submitit's local executor")
    p.add_argument("--slurm", action="append", default=[], metavar="KEY=VALUE", help="job resources over the "
                   "plan's slurm: gpus_per_run, cpus_per_run, mem_gb, time_min, partition, account")
    p.add_argument("--wait", action="store_true", help="with --executor: wait for the jobs, then build the report")
    p.set_defaults(func=_cmd_suite)

    p = sub.add_parser("synth", help="write the embedded synthetic suite as npz files")
    p.add_argument("--out", required=True)
    p.add_argument("--datasets", default="all")
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--size-3d", dest="size_3d", type=int, default=28)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("download", help="download official MedMNIST npz files (needs network)")
    _add_config_args(p)
    p.set_defaults(func=_cmd_download)

    p = sub.add_parser("methods", help="list the methods (--set method=NAME)")
    p.set_defaults(func=_cmd_methods)

    p = sub.add_parser("keys", help="list configuration keys, defaults and meaning")
    p.set_defaults(func=_cmd_keys)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        import matplotlib

        matplotlib.use("Agg")  # the CLI only writes figures to files
    except ImportError:  # figures need the `notebooks` extra; training and evaluation do not
        pass
    try:
        return args.func(args)
    except (ValueError, OSError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        print(f"interrupted: {err}" if str(err) else "interrupted", file=sys.stderr)
        return 130
