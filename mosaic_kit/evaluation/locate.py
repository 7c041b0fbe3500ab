"""Where a run is: a run directory, a bundle folder, or ``hf:OWNER/NAME[@REVISION]`` on the
Hugging Face Hub; and, before a bundle is loaded, whether its backbone weights are here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Dict, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, StringConstraints

from ..config.paths import is_hub_spec
from ..utils.schema import check_types

__all__ = ["HUB_PREFIX", "read_bundle", "resolve_run", "verify_bundle", "weights_check"]

#: ``hf:OWNER/NAME``: a bundle on the Hugging Face Hub.
HUB_PREFIX = "hf:"


Sha256 = Annotated[StrictStr, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _Backbone(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    name: StrictStr
    weights: Optional[StrictStr] = None
    sha256: Optional[StrictStr] = None
    pretrained: Optional[StrictBool] = None


class _Manifest(BaseModel):
    """What the loaders read from ``bundle.json`` (other keys are the model card's)."""

    model_config = ConfigDict(extra="allow", strict=True)

    format: StrictStr
    backbone: _Backbone
    files: Annotated[Dict[StrictStr, Sha256], Field(min_length=1)]
    datasets: Annotated[Dict[StrictStr, Dict[StrictStr, Any]], Field(min_length=1)]


def read_bundle(path: str | Path) -> Optional[Dict[str, Any]]:
    """A bundle's ``bundle.json`` (None for a plain run directory), its shape checked: a mapping
    with a ``backbone`` mapping naming the backbone and a ``files`` mapping of sha256 digests."""
    f = Path(path) / "bundle.json"
    if not f.is_file():
        return None
    fix = "re-create the bundle with `python -m mosaic_kit bundle RUN --out DIR`"
    try:
        manifest = json.loads(f.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{f} is not valid JSON ({err}); {fix}.") from None
    if not isinstance(manifest, dict):
        raise ValueError(
            f"{f} is not a mosaic_kit bundle manifest (it holds a {type(manifest).__name__}, not a "
            f"mapping); {fix}."
        )
    try:
        check_types(_Manifest, manifest, f"{f} is not a mosaic_kit bundle manifest", {})
    except ValueError as err:
        raise ValueError(f"{err} Fix: {fix}.") from None
    return manifest


def verify_bundle(folder: str | Path) -> None:
    """Every file a bundle lists has the sha256 it was written with, and no checkpoint it does
    not list is beside them (a stray or copied-in tensor file would load silently)."""
    from ..data.provenance import file_digest

    manifest = read_bundle(folder)
    if manifest is None:
        return
    folder = Path(folder)
    for name, digest in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(
                f"bundle {folder}: {name} is listed in bundle.json but missing."
            )
        if file_digest(path, "sha256") != digest:
            raise ValueError(
                f"bundle {folder}: {name} is not the file the bundle was made with (sha256 differs "
                "from bundle.json): it was edited, replaced or damaged (a bundle is fixed when "
                "made: change the run and bundle it again)."
            )
    stray = sorted(p.name for p in folder.glob("*.safetensors") if p.name not in manifest["files"])
    if stray:
        raise ValueError(
            f"bundle {folder}: {', '.join(stray)} is not part of the bundle (not in bundle.json); "
            "remove it, or bundle that checkpoint with `bundle RUN --checkpoint NAME`."
        )


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
