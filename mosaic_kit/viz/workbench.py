"""A loaded model plus its data, for notebooks and the explorer: a trained run, or random adapters.

>>> wb = Workbench.from_run("runs/demo")  # best checkpoint: student, teacher, data, normalisation
>>> wb = Workbench.from_run("runs/demo", "initial")  # the same model before its first step
>>> wb = Workbench.untrained(load_config("cpu-tiny"))  # no run needed: adapters at init
>>> x = wb.prepared("breastmnist", "test", [0, 1, 2])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch

from ..config import Config
from ..data import Normalization, Split, open_datasets, take
from ..data.registry import get_info, resolve_datasets
from ..evaluation.evaluate import predict, prepare
from ..evaluation.metrics import compute_metrics
from ..evaluation.runs import list_checkpoints, load_run, run_config
from ..methods import build_model
from ..models.mosaic import MosaicModel, frozen_shared_copy
from ..utils.distributed import resolve_device

__all__ = ["Workbench", "list_checkpoints"]


@dataclass
class Workbench:
    cfg: Config
    model: MosaicModel
    teacher: MosaicModel
    norm: Normalization
    data: Dict[str, Dict[str, Split]]
    device: torch.device
    source: (
        str  # what the weights are: "runs/demo (best checkpoint)" or "random adapters (untrained)"
    )
    trained: bool

    @classmethod
    def from_run(
        cls,
        run_dir: str | Path,
        checkpoint: str = "best",
        overrides: Optional[Dict[str, Any]] = None,
        device: str = "cpu",
    ) -> "Workbench":
        """A run's model at ``checkpoint`` (``best``, ``last``), or ``initial``: the same model
        before its first step, rebuilt from the run's configuration and seed (initialisation is
        a function of the seed), to tell what training learned from what the architecture
        gives."""
        if checkpoint == "initial":
            wb = cls.untrained(run_config(run_dir, overrides), device)
            wb.source = f"{run_dir} (at initialisation, rebuilt from seed {wb.cfg.seed})"
            return wb
        run = load_run(run_dir, checkpoint, overrides)
        return cls._finish(
            run.cfg,
            run.model,
            run.teacher,
            run.norm,
            device,
            f"{run_dir} ({checkpoint} checkpoint)",
            True,
        )

    @classmethod
    def untrained(cls, cfg: Config, device: str = "cpu") -> "Workbench":
        model, norm = build_model(cfg)
        teacher = frozen_shared_copy(model)
        return cls._finish(cfg, model, teacher, norm, device, "random adapters (untrained)", False)

    @classmethod
    def _finish(cls, cfg, model, teacher, norm, device, source, trained) -> "Workbench":
        dev = resolve_device(device)
        data = open_datasets(
            cfg.data_root,
            resolve_datasets(cfg.datasets),
            cfg.size,
            cfg.size_3d,
            cache_dir=cfg.cache_dir,
        )
        return cls(
            cfg, model.to(dev).eval(), teacher.to(dev).eval(), norm, data, dev, source, trained
        )

    # -- access -----------------------------------------------------------------------------------
    @property
    def datasets(self) -> list:
        return list(self.data)

    def net(self, which: str = "student") -> MosaicModel:
        if which not in ("student", "teacher"):
            raise ValueError(f"which must be 'student' or 'teacher', got '{which}'.")
        return self.model if which == "student" else self.teacher

    def raw(self, dataset: str, split: str, index: Sequence[int]) -> tuple:
        """(uint8 images, labels) of the given sample indices, as numpy arrays."""
        s = self.data[dataset][split]
        idx = np.asarray(index, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(s)):
            raise IndexError(
                f"{dataset}/{split} has {len(s)} samples; indices {idx.tolist()} are out of range."
            )
        x, y = take(s, idx)
        return x.numpy(), y.numpy()

    def prepared(self, dataset: str, split: str, index: Sequence[int]) -> torch.Tensor:
        """Model-ready (normalised, resized, 3-channel or 1-channel 3D) batch of the given
        samples."""
        x, _ = self.raw(dataset, split, index)
        return prepare(self.model, dataset, torch.from_numpy(x), self.norm, self.device)

    def specialists(self) -> list:
        """Names a sample can be forced through: the routing table's specialists (MOSAIC's A/B/C,
        or the method's single path)."""
        return sorted(set(self.model.routing.values()))

    def is_3d(self, dataset: str) -> bool:
        return get_info(dataset).is_3d

    def forced_scores(
        self, dataset: str, split: str = "test", limit: Optional[int] = 256, which: str = "student"
    ) -> Dict[str, Dict[str, float]]:
        """``{specialist: {"acc", "auc"}}`` with every specialist (and ``"none"``, the bare
        backbone) forced onto ``dataset``: how much the routed specialist matters."""
        net, info = self.net(which), get_info(dataset)
        out = {}
        for spec in self.specialists() + ["none"]:
            y, s = predict(
                net,
                dataset,
                self.data[dataset][split],
                self.norm,
                self.device,
                self.cfg.eval_batch_size,
                limit,
                self.cfg.amp,
                specialist=spec,
            )
            out[spec] = compute_metrics(info.task, y, s)
        return out
