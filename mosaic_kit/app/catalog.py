"""The subcommands that list or fetch rather than train: ``methods``, ``keys``, ``synth`` and
``download``."""

from __future__ import annotations

import argparse

from ..config import key_help
from .commands import _config_from
from .reporting import _out_folder


def _cmd_synth(args: argparse.Namespace) -> int:
    from ..data import write_suite
    from ..data.registry import resolve_datasets

    _out_folder(args.out)
    root = write_suite(
        args.out,
        resolve_datasets(args.datasets),
        size=args.size,
        size_3d=args.size_3d,
        seed=args.seed,
    )
    print(f"synthetic MedMNIST written to {root}")
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    from ..data.download import download
    from ..data.registry import get_info, resolve_datasets

    cfg = _config_from(args)
    if cfg.data_root == "synthetic":
        raise ValueError("download needs a real folder: --set data_root=PATH")
    for name in resolve_datasets(cfg.datasets):
        size = cfg.size_3d if get_info(name).is_3d else cfg.size
        print(f"{name} ({size}): {download(name, size, cfg.data_root)}")
    return 0


def _cmd_methods(args: argparse.Namespace) -> int:
    from ..methods import METHODS

    for m in METHODS.values():
        print(f"{m.name:<16} {m.summary}")
    return 0


def _cmd_keys(args: argparse.Namespace) -> int:
    from ..config import key_defaults

    # as declared ("auto" stays "auto"; a run records what it resolved to)
    defaults = key_defaults()
    for key, text in key_help().items():
        print(f"{key:<20} {str(defaults[key]):<24} {text}")
    return 0
