"""Read-ahead of training batches: the training thread never waits for the memory map.

A round's *schedule* is the list of dataset names its steps visit. ``Loader.iterate(schedule)``
hands out the batches of that schedule in order, each read ``depth`` steps ahead by a pool of
threads that lives as long as the loader (persistent workers) and, when training on CUDA, copied
into pinned memory so the host-to-device copy can run asynchronously. Threads suffice: per sample
there is only a gather of uint8 rows (numpy and ``pin_memory`` release the GIL for the copies);
resizing, augmentation and normalisation run batched on the device (``data.transforms``).

Batch indices come from the datasets' ``BatchStream``s in schedule order, so the batches are
exactly those of the synchronous path. ``stream_states()`` reports the streams' states after the
batches handed out so far, not after the ones read ahead: that is what a checkpoint must store to
resume exactly.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Deque, Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch

from .files import Split
from .stream import BatchStream, take

__all__ = ["Loader"]


class Loader:
    """Batches of a schedule of dataset names, read ahead by ``workers`` threads (0: read on the
    calling thread)."""

    def __init__(
        self,
        streams: Dict[str, BatchStream],
        workers: int = 2,
        depth: int = 4,
        pin_memory: bool = False,
        shard: Optional[Callable[[int], Tuple[int, int]]] = None,
    ) -> None:
        """
        Args:
            streams: One stream per dataset; their current state is where reading starts.
            workers: Reader threads (0 = no read-ahead).
            depth: Batches read ahead of the one being trained on.
            pin_memory: Copy batches into page-locked memory (for asynchronous copies to a CUDA
                device).
            shard: ``n -> (lo, hi)``: the rows of an ``n``-sample global batch this process keeps
                (distributed).
        """
        if workers < 0 or depth < 1:
            raise ValueError(
                f"loader workers must be >= 0 and depth >= 1 (got {workers}, {depth})."
            )
        self.streams = streams
        self.depth = depth if workers else 1
        self.pin_memory = pin_memory
        self.shard = shard
        self._pool = (
            ThreadPoolExecutor(workers, thread_name_prefix="mosaic-loader") if workers else None
        )
        self._consumed = {n: s.state_dict() for n, s in streams.items()}

    def _read(self, split: Split, index: np.ndarray) -> Tuple[torch.Tensor, torch.Tensor]:
        x, y = take(split, index)
        if self.pin_memory:
            x, y = x.pin_memory(), y.pin_memory()
        return x, y

    def _submit(self, name: str) -> Tuple[str, object, Dict[str, int]]:
        stream = self.streams[name]
        index = stream.next_index()
        if self.shard is not None:
            lo, hi = self.shard(len(index))
            index = index[lo:hi]
        job = (
            self._pool.submit(self._read, stream.split, index)
            if self._pool
            else (stream.split, index)
        )
        return name, job, stream.state_dict()

    def iterate(self, schedule: List[str]) -> Iterator[Tuple[str, torch.Tensor, torch.Tensor]]:
        """Yield ``(dataset, images_uint8, labels)`` for every entry of ``schedule``, in order."""
        todo = iter(schedule)
        pending: Deque[Tuple[str, object, Dict[str, int]]] = deque()
        try:
            for name in todo:
                pending.append(self._submit(name))
                if len(pending) >= self.depth:
                    break
            while pending:
                name, job, state = pending.popleft()
                x, y = job.result() if isinstance(job, Future) else self._read(*job)
                self._consumed[name] = state
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append(self._submit(nxt))
                yield name, x, y
        # stopped early: drop what was read ahead (the streams are rewound by the caller's
        # checkpoint)
        finally:
            for _, job, _ in pending:
                if isinstance(job, Future):
                    job.cancel()

    def stream_states(self) -> Dict[str, Dict[str, int]]:
        """Each stream's state after the last batch handed out (read-ahead excluded)."""
        return {n: dict(s) for n, s in self._consumed.items()}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
