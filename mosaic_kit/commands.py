"""The implementations of the command-line subcommands (``cli`` holds the parser): each takes the parsed
arguments and returns the exit status; heavy imports stay inside, so ``--help`` stays fast."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, Optional

import yaml

from .config import Config, key_help, load_config, parse_set

# convenience flags of `train` (--data-root X is --set data_root=X)
TRAIN_FLAGS = ("data_root", "datasets", "size", "size_3d", "backbone", "weights", "device", "seed")


def _config_from(args: argparse.Namespace, extra: Optional[Dict[str, object]] = None) -> Config:
    overrides = parse_set(args.set)
    for key in TRAIN_FLAGS:
        value = getattr(args, key, None)
        if value is not None:
            overrides.update(parse_set([f"{key}={value}"]))
    if getattr(args, "out", None) is not None:  # an empty --out is an error of the run, not "no --out"
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

    if args.dry_run:
        from .methods import get_method
        from .registry import resolve_datasets
        from .train.summary import run_summary

        if args.resume and not (args.preset or args.config):
            args.config, args.out = str(Path(args.resume) / "config.yaml"), args.resume
        cfg = _config_from(args)
        get_method(cfg.method)
        print(yaml.safe_dump(cfg.to_dict(), sort_keys=False).rstrip())
        print("\n" + run_summary(cfg, resolve_datasets(cfg.datasets)))
        return 0
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
        _write_figures(run_dir)
    return 0


def _write_figures(run_dir: Path) -> None:
    """The run's figures (what ``report`` draws), where matplotlib is installed (the ``notebooks`` extra)."""
    from .plots import save_run_figures

    try:
        import matplotlib  # noqa: F401
    except ImportError as err:
        print(f"no figures: {err.name} is not installed (pip install 'mosaic_kit[notebooks]'); then "
              f"`python -m mosaic_kit report {run_dir}` draws them.")
        return
    for path in save_run_figures(run_dir):
        print(f"figure: {path}")


def _cmd_eval(args: argparse.Namespace) -> int:
    from .bundle import HUB_PREFIX
    from .results import markdown_table
    from .runs import evaluate_run, evaluation_name

    if str(args.run_dir).startswith(HUB_PREFIX):
        raise ValueError(f"eval writes its scores into the run folder: copy the bundle first (predict reads "
                         f"{args.run_dir} as it is).")
    overrides = parse_set(args.set)
    if args.weights:
        overrides["weights"] = args.weights
    results = evaluate_run(args.run_dir, args.checkpoint, overrides=overrides or None)
    print(markdown_table(results))
    print(f"written to {Path(args.run_dir) / evaluation_name(args.checkpoint, overrides or None)}.json (the training's "
          "results.json is unchanged)")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .plots import save_run_figures
    from .results import load_results, markdown_table

    for path in save_run_figures(args.run_dir):
        print(f"figure: {path}")
    print(markdown_table(load_results(args.run_dir)))
    return 0


def _cmd_bundle(args: argparse.Namespace) -> int:
    from .bundle import push_to_hub, read_bundle, save_bundle

    if args.out:
        folder = save_bundle(args.run_dir, _out_folder(args.out), args.checkpoint)
        print(f"bundle: {folder} (model card: {folder / 'README.md'})")
    elif args.push_to_hub and read_bundle(args.run_dir) is not None:
        folder = Path(args.run_dir)
    else:
        raise ValueError("give --out DIR for the new bundle (or a bundle folder with --push-to-hub alone).")
    if args.push_to_hub:
        url = push_to_hub(folder, args.push_to_hub, args.private)
        print(f"pushed to https://huggingface.co/{args.push_to_hub}: {url}")
    return 0


def _out_folder(out: str, flag: str = "--out") -> str:
    """A report or data folder to write into: never an existing file, never the current folder."""
    if str(out).strip() in ("", "."):
        raise ValueError(f"{flag} is empty (or '.'): give a folder of its own, e.g. reports/my-table.")
    if Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"{flag} {out} is an existing file; this command writes a folder of files there. Choose "
                         "another path (nothing was written).")
    return out


def _cmd_table(args: argparse.Namespace) -> int:
    from .reports import write_report
    from .reports.compare_text import parse_margins

    margins = parse_margins(args.margin)
    _out_folder(args.out)
    paths = write_report(args.runs, args.out, title=args.title, which=args.which, baseline=args.baseline,
                         labels=args.label, smallest_effect={k: 100 * v for k, v in (margins or {}).items()})
    print(paths["md"].read_text() + "\n".join(f"{kind}: {path}" for kind, path in paths.items()))
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .reports.compare_text import compare_text, parse_margins
    from .reports.table import find_runs

    for side in filter(None, (args.a, args.b)):
        if not find_runs(side):
            raise ValueError(f"no finished runs (a folder with a results.json) under {' '.join(side)}; "
                             "give run directories or folders that hold them.")
    if args.boot < 2:
        raise ValueError(f"--boot {args.boot}: give at least 2 bootstrap resamples (default 4000).")
    margins = parse_margins(args.margin)
    print(compare_text(args.a, args.b, args.split, args.checkpoint, args.metric.split(","), args.boot, margins))
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
        if summary["missing"]:
            print("error: these runs would fail at their start:\n  " + "\n  ".join(summary["missing"]),
                  file=sys.stderr)
            return 2
        return 0
    print(f"plan '{plan.name}': ran {len(summary['executed'])}, skipped {summary['skipped']} already done; "
          f"report in {summary['report']}/results.md")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from .data import write_suite
    from .registry import resolve_datasets

    _out_folder(args.out)
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
    from .config import key_defaults

    defaults = key_defaults()  # as declared ("auto" stays "auto"; a run records what it resolved to)
    for key, text in key_help().items():
        print(f"{key:<20} {str(defaults[key]):<24} {text}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from .predict import predict_command

    return predict_command(args.run_dir, args.files, args.dataset, args.window, args.attention, args.json,
                           args.checkpoint, "teacher" if args.teacher else "student", args.device, args.weights)


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import export

    paths = export(args.run_dir, args.dataset, args.format, args.out, args.checkpoint,
                   "teacher" if args.teacher else "student", args.weights)
    print("\n".join(f"wrote {p}" for p in paths))
    return 0
