"""Where a run is: a run directory, a bundle folder, or ``hf:OWNER/NAME[@REVISION]`` on the
Hugging Face Hub; and, before a bundle is loaded, whether its backbone weights are here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional

from ..config.paths import is_hub_spec

__all__ = ["HUB_PREFIX", "read_bundle", "resolve_run", "weights_check"]

#: ``hf:OWNER/NAME``: a bundle on the Hugging Face Hub.
HUB_PREFIX = "hf:"


def read_bundle(path: str | Path) -> Optional[Dict[str, Any]]:
    """A bundle's ``bundle.json`` (None for a plain run directory)."""
    f = Path(path) / "bundle.json"
    return json.loads(f.read_text()) if f.is_file() else None


def resolve_run(spec: str | Path) -> Path:
    """A run directory or bundle folder; ``hf:OWNER/NAME[@REVISION]`` is fetched from the Hub (or
    its cache)."""
    text = str(spec)
    if not text.startswith(HUB_PREFIX):
        return Path(spec)
    repo, _, rev = text[len(HUB_PREFIX) :].partition("@")
    if repo.count("/") != 1:
        raise ValueError(
            f"'{text}' is not a Hub bundle name: write hf:OWNER/NAME (optionally @REVISION)."
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(repo_id=repo, revision=rev or None))
    except LocalEntryNotFoundError as err:
        raise OSError(
            f"{repo} is neither in the local Hugging Face cache nor reachable ({err}); download it "
            "once with network access, or copy the bundle folder and give its path."
        ) from None
    if read_bundle(folder) is None:
        raise ValueError(f"{repo} holds no bundle.json: it is not a mosaic_kit bundle.")
    return folder


def weights_check(folder: str | Path, weights: Optional[str]) -> None:
    """Before a bundle is loaded: say which backbone weights it needs when they cannot be found."""
    manifest = read_bundle(folder)
    if manifest is None:
        return
    spec = manifest["backbone"]
    wanted = weights or spec.get("weights")
    if not wanted or is_hub_spec(wanted) or Path(wanted).is_file():
        return
    sha = (spec.get("sha256") or "")[:12]
    raise FileNotFoundError(
        f"This bundle was trained on the frozen backbone {spec['name']} with weights "
        f"'{spec['weights']}' (sha256 {sha}...), which is not here. Give the file's path: "
        "mosaic_kit.load(..., weights=PATH) or --weights PATH; a file other than the one it was "
        "trained on is refused."
    )
