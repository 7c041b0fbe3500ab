"""``TrainState``: how far a run has come, as the checkpoint stores it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Mapping

__all__ = ["TrainState"]


@dataclass
class TrainState:
    """The counters of a run; with the tensors, the optimizer, the scheduler, the RNGs and the
    data streams' positions (``last_state.pt``) it is all an exact resume needs."""

    round: int = 0  # rounds finished
    step: int = 0  # optimiser steps taken, skipped ones included (the schedule's clock)
    round_step: int = (
        0  # steps of the unfinished round already taken (non-zero after a mid-round stop)
    )
    best_acc: float = -1.0  # best mean validation accuracy so far
    best_round: int = -1  # round that reached it (0-based)
    bad_rounds: int = 0  # rounds since the last improvement (early stopping)
    bad_in_row: int = 0  # consecutive steps with a non-finite loss or gradient
    skipped_steps: int = 0  # non-finite steps skipped in the whole run
    wall_time_s: float = 0.0  # training time so far, across resumes

    def state_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from ``state_dict()``; counters missing from checkpoints of older versions
        keep their defaults."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(state) - known)
        if unknown:
            raise ValueError(
                f"Training state has unknown fields {unknown}: written by a newer mosaic_kit?"
            )
        for key, value in state.items():
            setattr(self, key, value)
