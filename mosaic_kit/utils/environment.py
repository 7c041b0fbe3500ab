"""What a run was computed with: package versions and the kit's git commit
(``environment.json``)."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path
from typing import Any, Dict

__all__ = ["environment_info"]


def environment_info() -> Dict[str, Any]:
    import medmnist
    import timm
    import torch

    from .. import __version__

    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                timeout=5,
                cwd=Path(__file__).resolve().parent,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "mosaic_kit": __version__,
        "torch": torch.__version__,
        "timm": timm.__version__,
        "medmnist": medmnist.__version__,
        "python": platform.python_version(),
        "git_commit": commit,
    }
