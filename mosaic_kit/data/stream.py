"""Batches of uint8 arrays out of memory-mapped splits, with a resumable shuffled order.

A ``BatchStream`` is an endless, seeded, epoch-shuffled sequence of training batches of one
dataset. Its whole state is (epoch, position): the permutation of epoch ``e`` is a pure function
of (seed, dataset, e), so a checkpoint stores two integers and a resumed run continues exactly
where it stopped.
"""

from __future__ import annotations

import zlib
from typing import Dict, Iterator, Tuple

import numpy as np
import torch

from .files import Split

__all__ = ["BatchStream", "take", "iter_batches"]


def take(split: Split, index: np.ndarray) -> Tuple[torch.Tensor, torch.Tensor]:
    """Gather rows ``index`` of a split (sorted reads from the memory map) as uint8 / int64
    tensors."""
    order = np.argsort(index, kind="stable")
    rows = np.empty((len(index),) + split.images.shape[1:], dtype=np.uint8)
    rows[order] = split.images[index[order]]
    return torch.from_numpy(rows), torch.from_numpy(split.labels[index])


def iter_batches(
    split: Split, batch_size: int, limit: int | None = None, start: int = 0
) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
    """Sequential batches for evaluation: samples ``start`` up to ``limit`` (default: the end)."""
    n = len(split) if limit is None else min(limit, len(split))
    for first in range(start, n, batch_size):
        stop = min(first + batch_size, n)
        yield (
            torch.from_numpy(np.array(split.images[first:stop])),
            torch.from_numpy(split.labels[first:stop]),
        )


class BatchStream:
    """Endless shuffled training batches of one split; ``state_dict`` makes it resumable."""

    def __init__(self, split: Split, batch_size: int, seed: int, balanced: bool = False) -> None:
        """
        Args:
            split: The training split.
            batch_size: Samples per batch (at most the split's size); the ragged tail of an epoch is
                dropped.
            seed: Seeds every epoch's order.
            balanced: Class-balanced sampling: each epoch draws ``len(split)`` samples with
                replacement, every class equally likely (single-label datasets only); otherwise a
                permutation.
        """
        if balanced and split.info.is_multilabel:
            raise ValueError(
                f"{split.info.name} is multi-label: class-balanced sampling needs one label per "
                "sample; use class_balance=loss (a pos_weight per label) instead."
            )
        self.balanced = balanced
        self.split = split
        self.batch_size = min(batch_size, len(split))
        self.seed = seed
        self.epoch = 0
        self.position = 0
        self._perm_epoch = -1
        self._perm = np.empty(0, dtype=np.int64)

    @property
    def steps_per_epoch(self) -> int:
        return max(1, len(self.split) // self.batch_size)

    def _permutation(self) -> np.ndarray:
        if self._perm_epoch != self.epoch:
            gen = torch.Generator().manual_seed(
                (
                    self.seed * 1_000_003
                    + zlib.crc32(self.split.info.name.encode()) * 9_176
                    + self.epoch
                )
                % (2**63)
            )
            if self.balanced:  # every class equally likely: p(i) = 1 / (K_present * n_class(i))
                y = (
                    np.asarray(self.split.labels)
                    .reshape(len(self.split), -1)[:, 0]
                    .astype(np.int64)
                )
                counts = np.bincount(y)
                p = torch.from_numpy(1.0 / (np.count_nonzero(counts) * counts[y]))
                self._perm = torch.multinomial(
                    p, len(self.split), replacement=True, generator=gen
                ).numpy()
            else:
                self._perm = torch.randperm(len(self.split), generator=gen).numpy()
            self._perm_epoch = self.epoch
        return self._perm

    def next_index(self) -> np.ndarray:
        """Row indices of the next batch (advances the stream; ``take`` reads them)."""
        if self.position + self.batch_size > len(
            self.split
        ):  # drop the ragged tail, start a new epoch
            self.epoch, self.position = self.epoch + 1, 0
        index = self._permutation()[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return index

    def next_batch(self) -> Tuple[torch.Tensor, torch.Tensor]:
        return take(self.split, self.next_index())

    def state_dict(self) -> Dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: Dict[str, int]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
