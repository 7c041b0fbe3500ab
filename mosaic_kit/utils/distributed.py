"""Multi-process training on PyTorch's own engine: ``torchrun --nproc_per_node N -m mosaic_kit train
...``.

torchrun sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; ``init_from_env`` starts the process
group (NCCL on CUDA, gloo on CPU). The global batch of a step is ``batch_size``: every rank draws
the same batch indices and augmentation parameters and keeps its contiguous slice, so N ranks see
exactly the samples one process would.

Hard routing means a step uses only its dataset's specialist, head and tokenizer. One DDP wrapper
per dataset registers exactly those tensors (``MosaicModel.active_parameter_names``), so the
gradient buckets hold only trainable tensors that the step produces gradients for: no
unused-parameter search, no errors from the inactive specialists. With a single process
everything here is a no-op.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

__all__ = [
    "init_from_env",
    "resolve_device",
    "world_size",
    "rank",
    "is_main",
    "barrier",
    "main_first",
    "shard_range",
    "all_mean",
    "gather_concat",
    "DatasetDDP",
    "shutdown",
]


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    return rank() == 0


def init_from_env(device: str = "auto") -> Optional[torch.device]:
    """Join the process group torchrun describes (no-op without ``WORLD_SIZE`` > 1); returns this
    rank's device, or None when not distributed (the caller resolves ``device`` itself)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        if torch.cuda.device_count() <= local:
            raise RuntimeError(
                f"LOCAL_RANK {local} but this node has {torch.cuda.device_count()} GPUs; start "
                "torchrun with --nproc_per_node no larger than the GPU count, or use device=cpu."
            )
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    else:
        dev = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return dev


def resolve_device(name: str) -> torch.device:
    """``auto`` / ``cpu`` / ``cuda`` / ``cuda:N`` -> a device; under torchrun, this rank's GPU."""
    if world_size() > 1 and name in ("auto", "cuda") and torch.cuda.is_available():
        # this rank's GPU (set by init_from_env)
        return torch.device("cuda", torch.cuda.current_device())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device={name} asked for, but torch sees no CUDA GPU; use device=cpu or auto."
        )
    return device


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


@contextlib.contextmanager
def main_first():
    """Rank 0 runs the block first (say, writing a data cache), the other ranks after it (reading
    it)."""
    if world_size() > 1 and not is_main():
        dist.barrier()
    yield
    if world_size() > 1 and is_main():
        dist.barrier()


def shard_range(n: int, world: Optional[int] = None, r: Optional[int] = None) -> Tuple[int, int]:
    """This rank's contiguous slice ``[lo, hi)`` of ``n`` items (sizes differ by at most one)."""
    world = world_size() if world is None else world
    r = rank() if r is None else r
    bounds = np.linspace(0, n, world + 1).round().astype(int)
    return int(bounds[r]), int(bounds[r + 1])


def all_mean(values: torch.Tensor, weight: float) -> torch.Tensor:
    """Weighted mean over ranks of a small tensor of per-rank means (``weight``: this rank's
    sample count)."""
    if world_size() == 1:
        return values
    buf = torch.cat(
        [
            values.detach().float().reshape(-1) * weight,
            torch.tensor([weight], dtype=torch.float32, device=values.device),
        ]
    )
    dist.all_reduce(buf)
    return buf[:-1] / buf[-1]


def gather_concat(*arrays: np.ndarray) -> Tuple[np.ndarray, ...]:
    """Concatenate every rank's arrays in rank order (each rank holds a contiguous slice; empty
    ones skipped)."""
    if world_size() == 1:
        return arrays
    parts: List[Any] = [None] * world_size()
    dist.all_gather_object(parts, arrays)
    return tuple(
        np.concatenate([p[i] for p in parts if len(p[i])] or [arrays[i]])
        for i in range(len(arrays))
    )


class _Step(nn.Module):
    """What DDP sees of one dataset's step: the trainable tensors it uses, and a forward through
    the model."""

    def __init__(self, model: nn.Module, dataset: str) -> None:
        super().__init__()
        named = dict(model.named_parameters())
        self.used = nn.ParameterList(
            [named[n] for n in model.active_parameter_names(dataset) if named[n].requires_grad]
        )
        # not a submodule: DDP must not register the frozen backbone
        object.__setattr__(self, "_model", model)
        self.dataset = dataset

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return self._model(x, self.dataset, return_features=True)


class DatasetDDP:
    """Per-dataset DistributedDataParallel over one ``MosaicModel``; ``step(x, dataset)`` -> (CLS,
    logits).

    Single process: the same per-dataset steps, unwrapped."""

    def __init__(self, model: nn.Module, datasets: List[str], device: torch.device) -> None:
        self.steps: Dict[str, nn.Module] = {name: _Step(model, name) for name in datasets}
        if world_size() > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [device.index] if device.type == "cuda" else None
            self.steps = {
                n: DDP(s, device_ids=ids, broadcast_buffers=False) for n, s in self.steps.items()
            }

    def step(self, x: torch.Tensor, dataset: str) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.steps[dataset](x)
