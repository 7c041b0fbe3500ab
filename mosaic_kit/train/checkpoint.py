"""Checkpoints that hold only trainable tensors (safetensors), plus the state an exact resume needs.

Every file is written to a temporary name, flushed to disk and renamed over the old one, so a crash at any
moment leaves the previous file or the new one, never a torn mix.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import torch
from safetensors.torch import load_file, save

from ..atomic import atomic_write_bytes

__all__ = ["atomic_write_bytes", "save_tensors", "load_tensors", "save_state", "load_state", "trainable_state"]


def trainable_state(model: torch.nn.Module) -> Dict[str, torch.Tensor]:
    return {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}


def save_tensors(path: str | Path, groups: Mapping[str, Mapping[str, torch.Tensor]],
                 metadata: Optional[Mapping[str, Any]] = None) -> None:
    """Save several named tensor groups (e.g. student, teacher) into one ``.safetensors`` file."""
    flat = {f"{g}/{n}": t.detach().to("cpu").contiguous() for g, tensors in groups.items() for n, t in tensors.items()}
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
    atomic_write_bytes(path, save(flat, metadata=meta))


def load_tensors(path: str | Path) -> Tuple[Dict[str, Dict[str, torch.Tensor]], Dict[str, str]]:
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Checkpoint '{path}' not found.")
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
    groups: Dict[str, Dict[str, torch.Tensor]] = {}
    for key, tensor in load_file(str(path)).items():
        group, name = key.split("/", 1)
        groups.setdefault(group, {})[name] = tensor
    return groups, meta


def save_state(path: str | Path, state: Mapping[str, Any]) -> None:
    buf = io.BytesIO()
    torch.save(dict(state), buf)
    atomic_write_bytes(path, buf.getvalue())


def load_state(path: str | Path) -> Dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=False)
