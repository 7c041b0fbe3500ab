"""The run directory's checkpoints during training: ``last`` (after every round, and at a stop) with
everything an exact resume needs, ``best`` (the best mean validation accuracy), and restoring them.

Files: ``last.safetensors`` / ``best.safetensors`` (student and teacher trainable tensors, the
portable copy), ``last_state.pt`` (the resume point: ``TrainState``, the trainable tensors again,
optimizer, scheduler, RNGs, data-stream positions and the configuration the run started with).
The tensors are written first and the state last, each atomically, and the state is
self-contained: a crash between the two writes leaves the previous state, which resumes exactly
(``restore`` says that it ignores the newer tensors file).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, Mapping

import torch

from ..methods import upgrade_method, upgrade_names
from ..models.mosaic import MosaicModel
from ..utils.checkpoint import (
    FORMAT,
    load_into,
    load_tensors,
    save_state,
    save_tensors,
    trainable_state,
)
from .ema import ExpertEMA
from .log import read_log
from .state import TrainState

__all__ = ["Checkpointer"]


class Checkpointer:
    """Saves and restores one run's checkpoints; on ranks other than 0 (``main=False``) it writes
    nothing."""

    def __init__(
        self,
        run_dir: Path,
        model: MosaicModel,
        teacher: ExpertEMA,
        meta: Mapping[str, Any],
        config: Mapping[str, Any],
        main: bool = True,
    ) -> None:
        self.run_dir, self.model, self.teacher, self.main = Path(run_dir), model, teacher, main
        self.meta = {**meta, "format": FORMAT}
        self.config = dict(config)

    def _groups(self) -> Dict[str, Dict[str, torch.Tensor]]:
        return {"student": trainable_state(self.model), "teacher": self.teacher.trainable_state()}

    def save_last(
        self,
        state: TrainState,
        optimizer,
        scheduler,
        aug_gen: torch.Generator,
        streams: Mapping[str, Any],
    ) -> None:
        if not self.main:
            return
        groups = self._groups()
        meta = {**self.meta, "round": state.round, "step": state.step}
        save_tensors(self.run_dir / "last.safetensors", groups, meta)
        save_state(
            self.run_dir / "last_state.pt",
            {
                "state": state.state_dict(),
                "tensors": {
                    g: {n: t.detach().cpu() for n, t in ts.items()} for g, ts in groups.items()
                },
                "meta": meta,
                "config": self.config,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "aug_gen": aug_gen.get_state(),
                "torch_rng": torch.get_rng_state(),
                "streams": dict(streams),
            },
        )

    def save_best(self, rnd: int, val_acc: float) -> None:
        if self.main:
            save_tensors(
                self.run_dir / "best.safetensors",
                self._groups(),
                {**self.meta, "round": rnd, "val_acc": val_acc},
            )

    def _tensors(self, ckpt: Mapping[str, Any], state: TrainState):
        """The trainable tensors of the resume point and their metadata."""
        tensors_file = self.run_dir / "last.safetensors"
        if "tensors" in ckpt:  # self-contained (format 2)
            if tensors_file.exists():
                _, meta = load_tensors(tensors_file)
                if int(meta.get("step", state.step)) != state.step:
                    print(
                        f"note: {tensors_file} (step {meta.get('step')}) is newer than "
                        f"last_state.pt (step {state.step}): the run stopped between the two "
                        "writes. Resuming from last_state.pt, which holds its own copy of the "
                        "tensors.",
                        file=sys.stderr,
                    )
            return ckpt["tensors"], ckpt["meta"]
        # format 1: the tensors live only in last.safetensors
        groups, meta = load_tensors(tensors_file)
        if (
            int(meta.get("round", -1)) != state.round
            or int(meta.get("step", state.step)) != state.step
        ):
            raise RuntimeError(
                f"{self.run_dir}: last.safetensors (round {meta.get('round')}, step "
                f"{meta.get('step')}) and last_state.pt (round {state.round}, step {state.step}) "
                "disagree: this run, written by mosaic_kit 0.1, was interrupted mid-save and "
                "cannot resume; evaluate its best.safetensors or start it anew."
            )
        return groups, meta

    def restore(
        self,
        optimizer,
        scheduler,
        aug_gen: torch.Generator,
        streams: Mapping[str, Any],
        ckpt: Mapping[str, Any],
    ) -> TrainState:
        """Load the resume point ``ckpt`` (``last_state.pt``) into the model, teacher, optimizer,
        scheduler, RNGs and streams; returns the state."""
        state = TrainState()
        state.load_state_dict(ckpt["state"])
        groups, meta = self._tensors(ckpt, state)
        method = upgrade_method(meta.get("method", self.model.method), meta)
        load_into(self.model, upgrade_names(method, groups["student"], meta), "student")
        load_into(self.teacher.model, upgrade_names(method, groups["teacher"], meta), "teacher")
        try:
            optimizer.load_state_dict(ckpt["optimizer"])
        except ValueError as err:
            raise ValueError(
                f"{self.run_dir}: the stored optimizer state does not fit this run's parameter "
                f"groups ({err}); it was written by another version or configuration. Start a new "
                "run, or evaluate this one with `eval`."
            ) from None
        scheduler.load_state_dict(ckpt["scheduler"])
        aug_gen.set_state(ckpt["aug_gen"])
        torch.set_rng_state(ckpt["torch_rng"])
        for name, s in ckpt["streams"].items():
            streams[name].load_state_dict(s)
        return state

    def trim_log(self, state: TrainState) -> None:
        """Drop log rows past the restored state: steps after it and rounds it had not finished."""
        if not self.main:
            return
        path = self.run_dir / "metrics.jsonl"
        kept = [
            json.dumps(r)
            for r in read_log(path)  # a row the killed run had not finished is dropped
            if r["step"] <= state.step
            and not (r["kind"] == "round" and r.get("round", -1) >= state.round)
        ]
        path.write_text("".join(line + "\n" for line in kept))
