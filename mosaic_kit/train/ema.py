"""Expert-aware EMA teacher: after a step, only the tensors that step used move toward the
student."""

from __future__ import annotations

from typing import Dict, List

import torch

from ..models.mosaic import MosaicModel, frozen_shared_copy

__all__ = ["ExpertEMA"]


class ExpertEMA:
    """A teacher copy of the student's trainable tensors; frozen tensors are shared, not copied.

    ``update(dataset, m)`` applies ``t = m * t + (1 - m) * s`` to the tensors a batch of
    ``dataset`` uses: its specialist's adapters, its head, and the 3D tokenizer for volumes.
    Everything else stays put, so a specialist's teacher is not dragged along by steps on other
    specialists' datasets.
    """

    def __init__(self, student: MosaicModel) -> None:
        self.model: MosaicModel = frozen_shared_copy(student)
        self._trainable = [n for n, p in student.named_parameters() if p.requires_grad]
        s_params, t_params = dict(student.named_parameters()), dict(self.model.named_parameters())
        self._pairs: Dict[str, tuple[List[torch.Tensor], List[torch.Tensor]]] = {}
        for dataset in student.routing:
            names = student.active_parameter_names(dataset)
            self._pairs[dataset] = (
                [t_params[n] for n in names],
                [s_params[n].detach() for n in names],
            )

    @torch.no_grad()
    def update(self, dataset: str, momentum: float) -> None:
        teacher, student = self._pairs[dataset]
        torch._foreach_lerp_(teacher, student, 1.0 - momentum)

    def trainable_state(self) -> Dict[str, torch.Tensor]:
        params = dict(self.model.named_parameters())
        return {n: params[n].detach() for n in self._trainable}
