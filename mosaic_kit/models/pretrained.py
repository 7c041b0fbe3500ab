"""Backbone weights by name: ``weights=timm:deit_tiny_patch16_224.fb_in1k`` instead of a file path.

The name is looked up in timm's pretrained configurations (``timm.models.get_pretrained_cfg``),
whose Hugging Face Hub repository is then read through ``huggingface_hub`` exactly as timm's own
``pretrained=True`` does: from the local cache first, honouring offline mode
(``HF_HUB_OFFLINE=1``). The file found is loaded like any local file, so provenance (its sha256)
and the checkpoint fingerprint work the same for both spellings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

from ..config.paths import HUB_WEIGHTS_PREFIX as PREFIX
from ..config.paths import is_hub_spec
from ..data.provenance import file_digest

__all__ = ["PREFIX", "is_hub_spec", "parse_hub_spec", "resolve_weights", "weights_provenance"]

# what timm's hub repositories hold, in timm's order
_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
)


def parse_hub_spec(weights: str, backbone: str) -> str:
    """``timm:ARCH[.TAG]`` -> ``ARCH.TAG`` (timm's default tag when none is given); ARCH must be
    ``backbone``."""
    import timm

    name = weights[len(PREFIX) :].strip()
    arch, _, tag = name.partition(".")
    if arch != backbone:
        raise ValueError(
            f"weights={weights} belong to architecture '{arch}', but backbone is '{backbone}'; set "
            f"backbone={arch}, or name weights for {backbone} (e.g. timm:{backbone})."
        )
    if not tag:
        from timm.models import get_pretrained_cfg

        cfg = get_pretrained_cfg(arch)  # the architecture's default weights
        if cfg is None or not timm.list_pretrained(f"{arch}.*"):
            raise ValueError(f"timm knows no pretrained weights for '{arch}'.")
        return f"{arch}.{cfg.tag}"
    if name not in timm.list_pretrained(name):
        known = ", ".join(timm.list_pretrained(f"{arch}.*")[:8]) or "none"
        raise ValueError(f"timm has no pretrained weights '{name}'. Known for {arch}: {known}.")
    return name


def resolve_weights(weights: str, backbone: str) -> Path:
    """The local file behind a weights spec: a path as given, or a ``timm:`` name found in the
    Hugging Face cache (downloaded there if online). Offline with an empty cache: one error
    naming the file and where it goes."""
    if not is_hub_spec(weights):
        return Path(weights).expanduser()
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError
    from timm.models import get_pretrained_cfg

    name = parse_hub_spec(weights, backbone)
    repo = get_pretrained_cfg(name).hf_hub_id
    if not repo:
        raise ValueError(
            f"timm's weights '{name}' are not on the Hugging Face Hub; download them by hand and "
            "give weights=<file>."
        )
    problem: Optional[Exception] = None
    for filename in _FILES:
        try:
            return Path(hf_hub_download(repo, filename))
        except LocalEntryNotFoundError as err:  # not cached, and offline or unreachable
            problem = problem or err
        except EntryNotFoundError:
            continue  # the repository has the other file
        except Exception as err:  # noqa: BLE001 - offline, no network, empty cache: said once below
            problem = problem or err
    mode = (
        "offline mode (HF_HUB_OFFLINE=1)"
        if constants.is_offline_mode()
        else f"the Hugging Face Hub is not reachable: {type(problem).__name__}"
    )
    raise FileNotFoundError(
        f"weights={weights}: {repo}/{_FILES[0]} is not in the local Hugging Face cache "
        f"({constants.HF_HUB_CACHE}) and cannot be fetched ({mode}). On a machine with network run "
        f"`hf download {repo} {_FILES[0]}` and copy its models--{repo.replace('/', '--')} folder "
        f"into {constants.HF_HUB_CACHE}, or download the file and give weights=<path to "
        f"{_FILES[0]}>."
    )


def weights_provenance(backbone: str, weights: Optional[str]) -> Dict[str, Any]:
    """``{"backbone", "weights", "sha256", "pretrained"}``: a run without a weights file has a
    random backbone."""
    if not weights:
        return {"backbone": backbone, "weights": None, "sha256": None, "pretrained": False}
    return {
        "backbone": backbone,
        "weights": str(weights),
        "sha256": file_digest(resolve_weights(str(weights), backbone), "sha256"),
        "pretrained": True,
    }
