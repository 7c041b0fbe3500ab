"""Checkpoint files: named groups of trainable tensors (safetensors), and the state an exact resume
needs.

Every file is written to a temporary name, flushed to disk and renamed over the old one, so a
crash at any moment leaves the previous file or the new one, never a torn mix.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import torch
from safetensors.torch import load_file, save

from .atomic import atomic_write_bytes

__all__ = [
    "save_tensors",
    "load_tensors",
    "save_state",
    "load_state",
    "trainable_state",
    "load_into",
    "FORMAT",
]

#: Checkpoint layout version, stored in the metadata. 2: side modules under their method's own slot
#: name (``blocks.{i}.adapter.``, ``blocks.{i}.gmoe.``); files without it are version 1 (every slot
#: named ``mos``). 3: ``method=gmoe`` is the two-backbone form; files of version <= 2 named ``gmoe``
#: are today's ``gmoe-shared``.
FORMAT = 3


def trainable_state(model: torch.nn.Module) -> Dict[str, torch.Tensor]:
    return {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}


def save_tensors(
    path: str | Path,
    groups: Mapping[str, Mapping[str, torch.Tensor]],
    metadata: Optional[Mapping[str, Any]] = None,
) -> None:
    """Save several named tensor groups (e.g. student, teacher) into one ``.safetensors`` file."""
    flat = {
        f"{g}/{n}": t.detach().to("cpu").contiguous()
        for g, tensors in groups.items()
        for n, t in tensors.items()
    }
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
    atomic_write_bytes(path, save(flat, metadata=meta))


def load_tensors(path: str | Path) -> Tuple[Dict[str, Dict[str, torch.Tensor]], Dict[str, str]]:
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Checkpoint '{path}' not found.")
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        flat = load_file(str(path))
    except (
        Exception
    ) as err:  # safetensors raises its own error types for truncated or foreign files
        raise ValueError(
            f"{path} is not a readable safetensors checkpoint ({str(err).splitlines()[0][:120]}); "
            "it may be truncated or another kind of file."
        ) from None
    groups: Dict[str, Dict[str, torch.Tensor]] = {}
    for key, tensor in flat.items():
        if "/" not in key:
            raise ValueError(
                f"{path} holds tensor '{key}' outside the student/teacher groups of a mosaic_kit "
                "checkpoint; is it a backbone weights file? Give it as `weights`."
            )
        group, name = key.split("/", 1)
        groups.setdefault(group, {})[name] = tensor
    return groups, meta


def save_state(path: str | Path, state: Mapping[str, Any]) -> None:
    buf = io.BytesIO()
    torch.save(dict(state), buf)
    atomic_write_bytes(path, buf.getvalue())


def load_state(path: str | Path) -> Dict[str, Any]:
    """Read a resume state. Only tensors, numbers, strings and containers of them are accepted
    (``weights_only``): a state file from elsewhere cannot run code on this machine."""
    import pickle

    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{path} holds objects other than tensors, numbers and strings ({first[:160]}); "
            "loading it could run code, so it is refused. mosaic_kit never writes such a state: "
            "was the file replaced? Start the run anew, or evaluate its .safetensors checkpoints."
        ) from None
    except (RuntimeError, EOFError) as err:
        raise ValueError(
            f"{path} is not a readable training state ({str(err).splitlines()[0][:160]}); it may "
            "be truncated or not written by mosaic_kit."
        ) from None


def load_into(model: torch.nn.Module, tensors: Mapping[str, torch.Tensor], what: str) -> None:
    """Copy a checkpoint's tensors into ``model``. A student checkpoint must hold exactly the
    trainable tensors; a teacher's (whose copy is frozen) any subset of the model's."""
    params = dict(model.named_parameters())
    expected = (
        {n for n, p in params.items() if p.requires_grad} if what == "student" else set(tensors)
    )
    missing, unexpected = expected - set(tensors), set(tensors) - set(params)
    if missing or unexpected:
        raise ValueError(
            f"{what} checkpoint does not fit this model: missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}; was it written with another method, preset or "
            "dataset selection?"
        )
    with torch.no_grad():
        for name, t in tensors.items():
            if params[name].shape != t.shape:
                raise ValueError(
                    f"{what} tensor {name} has shape {tuple(t.shape)} in the checkpoint but "
                    f"{tuple(params[name].shape)} in the model (another preset?)."
                )
            params[name].copy_(t)
