"""Command line: ``python -m mosaic_kit COMMAND`` (params, train, eval, predict, export, bundle,
report, table, compare, suite, synth, download, methods, keys). The parser is ``app.parser``; what
each subcommand does is in ``app.commands`` and ``app.reporting``."""

from __future__ import annotations

import sys
from typing import List, Optional

from .app.parser import build_parser


def _join_negative_values(argv: List[str]) -> List[str]:
    """``--window -1000,400``: argparse takes a value starting with '-' for an option; join it to
    its flag."""
    out: List[str] = []
    for token in argv:
        if out and out[-1] == "--window" and token.startswith("-") and "," in token:
            out[-1] = f"--window={token}"
        else:
            out.append(token)
    return out


def missing_module_message(name: Optional[str]) -> str:
    """The words for a library that this Python lacks: almost always the kit's environment is not
    the one running."""
    return (
        f"error: the library '{name}' is not installed in this Python ({sys.executable}). The kit "
        "and its libraries live in the project's environment: run `source .venv/bin/activate` "
        "first (or call `.venv/bin/python -m mosaic_kit ...`); `make venv` builds it on a fresh "
        "clone."
    )


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(
        _join_negative_values(list(sys.argv[1:] if argv is None else argv))
    )
    try:
        import matplotlib

        matplotlib.use("Agg")  # the CLI only writes figures to files
    except ImportError:  # figures need the `notebooks` extra; training and evaluation do not
        pass
    try:
        return args.func(args)
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] == "mosaic_kit":
            raise
        print(missing_module_message(err.name), file=sys.stderr)
        return 2
    except BrokenPipeError:  # `... keys | head`: the reader has gone; nothing to say
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, OSError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        print(f"interrupted: {err}" if str(err) else "interrupted", file=sys.stderr)
        return 130
