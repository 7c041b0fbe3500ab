"""Bottleneck adapters and the Mixture-of-Specialists (MoS) that holds one adapter per
specialist."""

from __future__ import annotations

from typing import List, Mapping, Optional

import torch
import torch.nn as nn

__all__ = ["Adapter", "MixtureOfSpecialists"]


class Adapter(nn.Module):
    """AdaptFormer-style parallel adapter: ``scale * up(relu(down(x)))``, no inner LayerNorm.

    ``up`` is zero-initialised, so a freshly built adapter adds exactly nothing.
    """

    def __init__(self, dim: int, bottleneck: int, scale: float = 0.1) -> None:
        """
        Args:
            dim: Width of the residual stream.
            bottleneck: Hidden width of the adapter.
            scale: Multiplier ``s`` of the adapter output.
        """
        super().__init__()
        if bottleneck <= 0:
            raise ValueError(f"Adapter bottleneck must be > 0, got {bottleneck}.")
        self.scale = scale
        self.down = nn.Linear(dim, bottleneck)
        self.act = nn.ReLU()
        self.up = nn.Linear(bottleneck, dim)
        nn.init.kaiming_uniform_(self.down.weight, a=5**0.5)
        nn.init.zeros_(self.down.bias)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor, specialist: Optional[str] = None) -> torch.Tensor:
        """``specialist`` is accepted and ignored, so one adapter can sit in a block's side slot
        for every dataset."""
        return self.up(self.act(self.down(x))) * self.scale


class MixtureOfSpecialists(nn.Module):
    """One adapter per specialist, chosen by hard routing: only the named specialist runs (and so
    only its tensors are used by a step: ``used_parameters``, which the EMA teacher and the
    per-dataset DDP wrappers read)."""

    def __init__(self, dim: int, bottlenecks: Mapping[str, int], scale: float = 0.1) -> None:
        """
        Args:
            dim: Width of the residual stream.
            bottlenecks: Specialist name -> bottleneck width, e.g. ``{"A": 64, "B": 96, "C": 192}``.
            scale: Multiplier of every specialist's output.
        """
        super().__init__()
        self.specialists = nn.ModuleDict(
            {name: Adapter(dim, b, scale) for name, b in bottlenecks.items()}
        )

    def used_parameters(self, specialist: str) -> List[str]:
        """Names (relative to this module) of the tensors a batch routed to ``specialist`` uses."""
        return [
            n
            for n, _ in self.specialists[specialist].named_parameters(
                prefix=f"specialists.{specialist}"
            )
        ]

    def forward(self, x: torch.Tensor, specialist: str) -> torch.Tensor:
        return self.specialists[specialist](x)
