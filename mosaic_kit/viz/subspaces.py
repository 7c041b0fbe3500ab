"""What the specialists learned: per-layer adapter outputs, CLS features and how specialists'
subspaces relate.

* ``collect_features`` runs samples of each dataset through the model and keeps the CLS feature and,
  per layer, the token-averaged output of the adapter that ran (hooks on ``blk.side``).
* ``specialist_angles`` compares the *weights*: the column space of each specialist's up-projection
  is the subspace its output lives in; principal angles between two specialists' spaces, per layer.
* ``dataset_output_angles`` compares what the adapters *wrote* for each dataset, for any adapter
  method: the principal subspace of one dataset's adapter outputs against another's, per layer
  (MOSAIC writes datasets of different specialists through different up-projections; one shared
  adapter writes all through one).
* ``specialist_cka`` compares the *functions*: linear CKA (Kornblith et al., 2019) between two
  specialists' adapter outputs on the same inputs, per layer.
"""

from __future__ import annotations

import itertools
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from scipy.linalg import subspace_angles

from ..data.files import Split
from ..data.stream import iter_batches
from ..data.transforms import Normalization
from ..evaluation.evaluate import prepare

__all__ = [
    "collect_features",
    "has_specialists",
    "specialist_angles",
    "random_subspace_angles",
    "specialist_angle_baselines",
    "dataset_output_angles",
]


class _AdapterTap:
    """Forward hooks on every block's side module that keep its token-mean output of the last
    forward."""

    def __init__(self, model: nn.Module) -> None:
        self.blocks = list(model.vit.blocks)
        self.outputs: List[torch.Tensor] = []
        self._handles: list = []

    def _hook(self, module: nn.Module, args, output: torch.Tensor) -> None:
        self.outputs.append(output.detach().float().mean(1))

    def __enter__(self) -> "_AdapterTap":
        self._handles = [
            b.side.register_forward_hook(self._hook) for b in self.blocks if b.side is not None
        ]
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()


@torch.no_grad()
def _run(
    model: nn.Module, dataset: str, x: torch.Tensor, specialist: Optional[str]
) -> Tuple[torch.Tensor, torch.Tensor]:
    """(CLS features (B, D), adapter outputs (B, L, D)) with ``specialist`` (default: routed)
    active."""
    spec = model.routing[dataset] if specialist is None else specialist
    with _AdapterTap(model) as tap:
        cls = model.encode(x, spec, model.infos[dataset].is_3d)[:, 0].float()
    return cls, torch.stack(tap.outputs, 1)


def collect_features(
    model: nn.Module,
    splits: Mapping[str, Split],
    norm: Normalization,
    n_per_dataset: int = 64,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
) -> Dict[str, np.ndarray]:
    """Features of the first ``n_per_dataset`` samples of each split, through its routed specialist.

    Returns arrays aligned by row: ``cls`` (M, D), ``adapter`` (M, L, D), ``dataset`` (M,) names,
    ``specialist`` (M,) names and ``label`` (M,) first label column.
    """
    model.eval()
    out: Dict[str, list] = {"cls": [], "adapter": [], "dataset": [], "specialist": [], "label": []}
    for name, split in splits.items():
        for x, y in iter_batches(split, batch_size, n_per_dataset):
            cls, ad = _run(model, name, prepare(model, name, x, norm, torch.device(device)), None)
            out["cls"].append(cls.cpu().numpy())
            out["adapter"].append(ad.cpu().numpy())
            out["dataset"] += [name] * len(x)
            out["specialist"] += [model.routing[name]] * len(x)
            out["label"].append(y[:, 0].numpy())
    return {
        k: (np.concatenate(v) if k in ("cls", "adapter", "label") else np.array(v))
        for k, v in out.items()
    }


def has_specialists(model: nn.Module) -> bool:
    """Whether the model's side modules hold named specialists to compare (mos, mos-soft,
    adapter-dataset)."""
    return hasattr(model.vit.blocks[0].side, "specialists")


def _specialist_names(model: nn.Module) -> List[str]:
    side = model.vit.blocks[0].side
    if not hasattr(side, "specialists"):
        raise ValueError(
            f"method '{model.method}' has no specialists to compare (its side module is "
            f"{type(side).__name__}); specialist subspaces need mos, mos-soft or adapter-dataset."
        )
    return list(side.specialists.keys())


def specialist_angles(
    model: nn.Module, specialists: Optional[Sequence[str]] = None
) -> Dict[Tuple[str, str], np.ndarray]:
    """Mean principal angle in degrees between two specialists' output subspaces, per layer.

    A specialist's outputs lie in the column space of its up-projection ``W_up`` (D x r). An
    untrained (all-zero) ``W_up`` has no subspace; its layers give NaN.
    """
    names = list(specialists or _specialist_names(model))
    out: Dict[Tuple[str, str], np.ndarray] = {}
    for a, b in itertools.combinations(names, 2):
        per_layer = []
        for blk in model.vit.blocks:
            wa = blk.side.specialists[a].up.weight.detach().double().cpu().numpy()
            wb = blk.side.specialists[b].up.weight.detach().double().cpu().numpy()
            if not (np.abs(wa).max() > 0 and np.abs(wb).max() > 0):
                per_layer.append(np.nan)
                continue
            per_layer.append(float(np.degrees(subspace_angles(wa, wb)).mean()))
        out[(a, b)] = np.array(per_layer)
    return out


def random_subspace_angles(
    dim: int, rank_a: int, rank_b: int, n_draws: int = 200, seed: int = 0
) -> Tuple[float, float]:
    """(mean, std) over ``n_draws`` seeded draws of the mean principal angle in degrees between
    two random (Gaussian) subspaces of ``dim``-space with ranks ``rank_a`` and ``rank_b``: what
    specialist angles are read against (unrelated subspaces are not at 90 degrees when their
    ranks are large against ``dim``)."""
    rng = np.random.default_rng(seed)
    draws = [
        np.degrees(
            subspace_angles(rng.standard_normal((dim, rank_a)), rng.standard_normal((dim, rank_b)))
        ).mean()
        for _ in range(n_draws)
    ]
    return float(np.mean(draws)), float(np.std(draws, ddof=1))


def specialist_angle_baselines(
    model: nn.Module, specialists: Optional[Sequence[str]] = None, n_draws: int = 200
) -> Dict[Tuple[str, str], Tuple[float, float]]:
    """``random_subspace_angles`` for every specialist pair, at the model's width and the pair's
    bottlenecks."""
    names = list(specialists or _specialist_names(model))
    side = model.vit.blocks[0].side
    rank = {s: side.specialists[s].up.weight.shape[1] for s in names}
    return {
        (a, b): random_subspace_angles(model.embed_dim, rank[a], rank[b], n_draws)
        for a, b in itertools.combinations(names, 2)
    }


def dataset_output_angles(
    feats: Mapping[str, np.ndarray], k: int = 8
) -> Dict[Tuple[str, str], np.ndarray]:
    """Mean principal angle in degrees, per layer, between the top-``k`` principal subspaces of
    two datasets' adapter outputs (``collect_features``'s ``adapter``, centred per dataset); NaN
    where a dataset's outputs are all zero (an untrained up-projection). Read against
    ``random_subspace_angles(D, k, k)``."""
    names = list(dict.fromkeys(feats["dataset"].tolist()))
    outputs = feats["adapter"]
    small = {
        n: int((feats["dataset"] == n).sum()) for n in names if (feats["dataset"] == n).sum() <= k
    }
    if small:
        raise ValueError(
            f"dataset_output_angles needs more than k={k} samples per dataset; got {small}. "
            "Collect more (n_per_dataset) or lower k."
        )
    basis: Dict[str, List[Optional[np.ndarray]]] = {}
    for n in names:
        x = outputs[feats["dataset"] == n].astype(np.float64)
        basis[n] = []
        for layer in range(x.shape[1]):
            z = x[:, layer] - x[:, layer].mean(0)
            basis[n].append(
                np.linalg.svd(z, full_matrices=False)[2][:k].T if np.abs(z).max() > 0 else None
            )
    return {
        (a, b): np.array(
            [
                np.degrees(subspace_angles(u, v)).mean()
                if u is not None and v is not None
                else np.nan
                for u, v in zip(basis[a], basis[b])
            ]
        )
        for a, b in itertools.combinations(names, 2)
    }
