"""The implementations of the command-line subcommands (``parser`` builds the parser): each takes
the parsed arguments and returns the exit status; heavy imports stay inside, so ``--help`` stays
fast."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, Optional

import yaml

from ..config import Config, load_config, parse_set
from .reporting import _out_folder

# convenience flags of `train` (--data-root X is --set data_root=X)
TRAIN_FLAGS = ("data_root", "datasets", "size", "size_3d", "backbone", "weights", "device", "seed")


def _config_from(args: argparse.Namespace, extra: Optional[Dict[str, object]] = None) -> Config:
    overrides = parse_set(args.set)
    for key in TRAIN_FLAGS:
        value = getattr(args, key, None)
        if value is not None:
            overrides.update(parse_set([f"{key}={value}"]))
    if (
        getattr(args, "out", None) is not None
    ):  # an empty --out is an error of the run, not "no --out"
        overrides["out"] = args.out
    overrides.update(extra or {})
    return load_config(args.preset, args.config, overrides)


def _cmd_params(args: argparse.Namespace) -> int:
    cfg = _config_from(args, {"weights": None})
    _check_method(cfg)
    from ..methods import build_model, parameter_report

    report = {
        "preset": args.preset,
        "backbone": cfg.backbone,
        **parameter_report(build_model(cfg)[0]),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{cfg.backbone}, {len(cfg.datasets)} dataset group(s) {cfg.datasets}")
    print(f"{'component':<14}{'trainable':>14}{'total':>14}")
    for name, c in report["components"].items():
        print(f"{name:<14}{c['trainable']:>14,}{c['total']:>14,}")
    print(
        f"{'all':<14}{report['trainable']:>14,}{report['total']:>14,}  "
        f"({report['trainable_pct']:.2f}% trainable)"
    )
    return 0


def _check_method(cfg: Config) -> None:
    """``method`` names one of the kit's methods. The command line registers no method of its
    own, so the kit's names, known without torch, are the whole list here."""
    import difflib

    from ..config.method_keys import BUILTIN_METHODS

    if cfg.method not in BUILTIN_METHODS:
        close = difflib.get_close_matches(cfg.method, BUILTIN_METHODS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(
            f"Unknown method '{cfg.method}'.{hint} Available: {', '.join(BUILTIN_METHODS)} "
            "(`python -m mosaic_kit methods` describes each)."
        )


def _cmd_train(args: argparse.Namespace) -> int:
    # the configuration first: a misspelt preset, key, value or dataset is reported before torch
    # and timm are imported (seconds; a minute on a loaded machine)
    if args.resume:
        # the run's own config.yaml unless --preset / --config say otherwise; either way, only the
        # keys a resume may change (rounds, patience, ...) may differ from what the run started
        # with (checked before training)
        if args.out and Path(args.out) != Path(args.resume):
            raise ValueError(
                f"--out {args.out} and --resume {args.resume} name different run directories."
            )
        args.out = args.resume
        if not (args.preset or args.config):
            args.config = str(Path(args.resume) / "config.yaml")
    cfg = _config_from(args)
    _check_method(cfg)
    from ..data.registry import build_routing, resolve_datasets

    names = resolve_datasets(cfg.datasets)
    build_routing(names, cfg.routing)
    if args.dry_run:
        from ..train.preflight import absent_files, missing_inputs_of
        from ..train.summary import run_summary

        print(yaml.safe_dump(cfg.to_dict(), sort_keys=False).rstrip())
        print("\n" + run_summary(cfg, names))
        missing = missing_inputs_of(cfg)
        if missing:
            raise FileNotFoundError(
                "the run would stop at its start; missing:\n  " + "\n  ".join(missing)
            )
        fetched = absent_files(cfg) if cfg.download else []
        if fetched:
            print(
                f"\ndry run: the configuration is valid; {len(fetched)} data file(s) are not "
                f"there yet and will be downloaded at the start (needs network): "
                + ", ".join(str(p) for p in fetched)
            )
            return 0
        print("\ndry run: the configuration is valid and every input file is there.")
        return 0
    from ..evaluation.results import load_results, markdown_table
    from ..train import train
    from ..utils import distributed

    try:
        run_dir = train(cfg, resume=bool(args.resume))
    finally:
        main = distributed.is_main()
        distributed.shutdown()
    if main:
        print(f"\nrun directory: {run_dir}\n")
        print(markdown_table(load_results(run_dir)))
        _write_figures(run_dir)
    return 0


def _write_figures(run_dir: Path) -> None:
    """The run's figures (what ``report`` draws), where matplotlib is installed (the
    ``notebooks`` extra)."""
    from ..viz.run_figures import save_run_figures

    try:
        import matplotlib  # noqa: F401
    except ImportError as err:
        print(
            f"no figures: {err.name} is not installed (pip install 'mosaic_kit[notebooks]'); then "
            f"`python -m mosaic_kit report {run_dir}` draws them."
        )
        return
    for path in save_run_figures(run_dir):
        print(f"figure: {path}")


def _cmd_eval(args: argparse.Namespace) -> int:
    from ..evaluation.locate import HUB_PREFIX
    from ..evaluation.rescore import evaluate_run, evaluation_name
    from ..evaluation.results import markdown_table

    if str(args.run_dir).startswith(HUB_PREFIX):
        raise ValueError(
            f"eval writes its scores into the run folder: copy the bundle first (predict reads "
            f"{args.run_dir} as it is)."
        )
    overrides = parse_set(args.set)
    if args.weights:
        overrides["weights"] = args.weights
    results = evaluate_run(args.run_dir, args.checkpoint, overrides=overrides or None)
    print(markdown_table(results))
    print(
        "written to "
        f"{Path(args.run_dir) / evaluation_name(args.checkpoint, overrides or None)}.json (the "
        "training's results.json is unchanged)"
    )
    return 0


def _cmd_bundle(args: argparse.Namespace) -> int:
    from ..share.bundle import push_to_hub, read_bundle, save_bundle

    if args.out:
        folder = save_bundle(args.run_dir, _out_folder(args.out), args.checkpoint)
        print(f"bundle: {folder} (model card: {folder / 'README.md'})")
    elif args.push_to_hub and read_bundle(args.run_dir) is not None:
        folder = Path(args.run_dir)
    else:
        raise ValueError(
            "give --out DIR for the new bundle (or a bundle folder with --push-to-hub alone)."
        )
    if args.push_to_hub:
        url = push_to_hub(folder, args.push_to_hub, args.private)
        print(f"pushed to https://huggingface.co/{args.push_to_hub}: {url}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from ..share.predict_cli import predict_command

    return predict_command(
        args.run_dir,
        args.files,
        args.dataset,
        args.window,
        args.attention,
        args.json,
        args.checkpoint,
        "teacher" if args.teacher else "student",
        args.device,
        args.weights,
        args.csv,
    )


def _cmd_export(args: argparse.Namespace) -> int:
    from ..share.export import export

    paths = export(
        args.run_dir,
        args.dataset,
        args.format,
        args.out,
        args.checkpoint,
        "teacher" if args.teacher else "student",
        args.weights,
    )
    print("\n".join(f"wrote {p}" for p in paths))
    return 0
