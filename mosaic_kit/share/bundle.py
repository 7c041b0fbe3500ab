"""Run bundles: a trained run as a self-contained folder to share, load by path or name, and push to
or pull from the Hugging Face Hub (as peft's ``save_pretrained`` / ``from_pretrained`` do for
adapters).

A bundle is the smallest run directory the loaders accept, plus what a reader needs:

- ``{checkpoint}.safetensors``: the trainable tensors only (student and EMA teacher); the frozen
  backbone is named, not copied;
- ``config.yaml``: the resolved configuration; the backbone weights are named by timm name
  (``timm:...``) where the run used them so, else by file name, with their sha256 in
  ``bundle.json``; the loader rebuilds the backbone from the weights given and refuses it unless its
  fingerprint is the checkpoint's;
- ``results.json``: the run's own evaluation; ``datasets/*.yaml``: the specs of datasets of your
  own, if any;
- ``bundle.json``: format, kit version, backbone and sha256, every dataset's task, class names and
  specialist;
- ``README.md``: the model card (``model_card.py``): results with their provenance, training, use,
  limits.

``mosaic_kit.load("hf:OWNER/NAME")`` (or ``predict hf:OWNER/NAME ...``) reads a bundle from the
Hub through ``huggingface_hub.snapshot_download``: the local cache first, offline with
``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional

import yaml

from .. import __version__
from ..config.paths import is_hub_spec
from ..data.provenance import file_digest
from ..data.registry import get_info
from ..evaluation.config_check import read_run_config
from ..evaluation.locate import HUB_PREFIX, read_bundle, resolve_run, weights_check
from ..evaluation.results import load_results
from ..utils.atomic import atomic_copy, atomic_write_bytes, staged_folder
from .model_card import model_card

__all__ = [
    "FORMAT",
    "HUB_PREFIX",
    "save_bundle",
    "read_bundle",
    "resolve_run",
    "push_to_hub",
    "weights_check",
]

FORMAT = "mosaic_kit.share.bundle/1"


def save_bundle(run_dir: str | Path, out: str | Path, checkpoint: str = "best") -> Path:
    """Write the bundle of ``run_dir``'s ``checkpoint`` into the new folder ``out`` (all or
    nothing)."""
    run_dir, out = Path(run_dir), Path(out)
    ckpt = run_dir / f"{checkpoint}.safetensors"
    for need in (run_dir / "config.yaml", run_dir / "results.json", ckpt):
        if not need.is_file():
            raise FileNotFoundError(
                f"{run_dir} cannot be bundled: {need.name} is missing (a bundle is made from a "
                "finished run; `train --resume` finishes an interrupted one)."
            )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(
            f"{out} exists and is not an empty folder; a bundle is written into a new folder."
        )
    cfg = read_run_config(run_dir)  # an edited or cut-short config.yaml is refused
    if cfg.get("independent"):
        raise ValueError(
            f"{run_dir} is an `independent` run (one model per dataset, in sub-folders): bundle "
            "each dataset's run folder on its own."
        )
    from ..utils.checkpoint import load_tensors

    load_tensors(ckpt)  # a truncated or foreign checkpoint is refused here, not by the reader
    results = load_results(run_dir)
    backbone = dict((results.get("provenance") or {}).get("backbone") or {})
    weights = cfg.get("weights")
    if weights and not is_hub_spec(
        weights
    ):  # a path on this machine means nothing elsewhere: keep its name
        cfg["weights"] = Path(weights).name
    # where the data lives is the reader's business (eval BUNDLE --set data_root=...): the
    # conventional folder,
    # which fails loudly where it is missing, never the synthetic suite in place of real files
    cfg["data_root"] = "synthetic" if cfg.get("data_root") == "synthetic" else "data/medmnist"
    cfg.pop("cache_dir", None)
    cfg["out"] = "."
    datasets = list(results.get("datasets") or {})
    manifest = {
        "format": FORMAT,
        "mosaic_kit": __version__,
        "checkpoint": checkpoint,
        "source_run": run_dir.name,  # a folder name: no path of this machine is published
        "method": cfg.get("method"),
        "seed": cfg.get("seed"),
        "backbone": {
            "name": cfg.get("backbone"),
            "weights": cfg.get("weights"),
            "sha256": backbone.get("sha256"),
            "pretrained": backbone.get("pretrained", bool(weights)),
        },
        "datasets": {n: _dataset_entry(n, results) for n in datasets},
        "params": {k: v for k, v in (results.get("params") or {}).items() if k != "components"},
    }
    with staged_folder(out) as tmp:  # all or nothing; an interrupted one is removed next time
        atomic_copy(ckpt, tmp / ckpt.name)
        shared = dict(results)  # the run's scores, without this machine's paths
        shared["config"] = {
            k: v for k, v in (results.get("config") or {}).items() if k != "cache_dir"
        }
        shared["config"].update({k: cfg[k] for k in ("weights", "data_root", "out") if k in cfg})
        if backbone.get("weights") and not is_hub_spec(backbone["weights"]):
            prov = dict(shared.get("provenance") or {})
            prov["backbone"] = {**backbone, "weights": Path(backbone["weights"]).name}
            shared["provenance"] = prov
        atomic_write_bytes(tmp / "results.json", json.dumps(shared, indent=1).encode())
        for spec in sorted((run_dir / "datasets").glob("*")):
            atomic_copy(spec, tmp / "datasets" / spec.name)
        atomic_write_bytes(tmp / "config.yaml", yaml.safe_dump(cfg, sort_keys=False).encode())
        manifest["files"] = {p.name: file_digest(p, "sha256") for p in sorted(tmp.glob("*.*"))}
        atomic_write_bytes(tmp / "bundle.json", json.dumps(manifest, indent=2).encode())
        atomic_write_bytes(tmp / "README.md", model_card(manifest, results, cfg).encode())
    return out


def _dataset_entry(name: str, results: Dict[str, Any]) -> Dict[str, Any]:
    info = get_info(name)
    return {
        "task": info.task,
        "modality": "3D" if info.is_3d else "2D",
        "classes": {str(i): info.class_name(i) for i in range(info.n_classes)},
        "license": info.license,
        "specialist": (results.get("routing") or {}).get(name),
        "data": ((results.get("provenance") or {}).get("datasets") or {}).get(name),
    }


def push_to_hub(
    folder: str | Path, repo_id: str, private: bool = False, token: Optional[str] = None
) -> str:
    """Upload a bundle folder to the Hub repository ``repo_id`` (created if missing); returns the
    commit URL."""
    if read_bundle(folder) is None:
        raise ValueError(
            f"{folder} is not a bundle (no bundle.json); write one with `python -m mosaic_kit "
            "bundle`."
        )
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    info = api.upload_folder(
        folder_path=str(folder), repo_id=repo_id, commit_message=f"mosaic_kit {__version__} bundle"
    )
    return str(getattr(info, "commit_url", info))
