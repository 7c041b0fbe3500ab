"""What training changed inside, as opposed to what the architecture gives before any step: the same
measurements on a trained run and on the same model at initialisation (``build_model`` is a
function of the seed, so the untrained model is rebuilt exactly).

* CLS separation: the mean principal angle between two datasets' CLS-feature subspaces (top ``k``
  directions, centred per dataset). At initialisation every adapter adds nothing (zero
  up-projections), so this is the frozen backbone's separation of the datasets: for 2D datasets the
  same for every adapter arm at one seed (the 3D tokenizer is drawn after the method's modules, so
  its initial values, and the 3D datasets' initial features, differ between arms).
* Hidden separation: the same angle between two datasets' adapter hidden activations (after the
  ReLU, token mean), per layer, for datasets that pass through the same module (in MOSAIC the
  datasets of one specialist; in a shared adapter all of them); datasets in different modules live
  in different spaces and get no angle. At initialisation these come from random down-projections.
* Attention shift: the Pearson correlation between a sample's attention-rollout map under the
  trained model and under the model at initialisation (1 = training did not move where the model
  looks).
"""

from __future__ import annotations

import itertools
from typing import Dict, Mapping, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from scipy.linalg import subspace_angles

from ..data.stream import iter_batches
from ..evaluation.evaluate import prepare
from ..models.adapter import Adapter

__all__ = ["collect_hidden", "mean_angle", "separation", "attention_shift", "learned_vs_initial"]


class _HiddenTap:
    """Forward hooks on the ReLU of every adapter in the blocks' side slots: the token-mean hidden
    activation of each adapter that ran, keyed by (layer, module name)."""

    def __init__(self, model: nn.Module) -> None:
        self.found: Dict[Tuple[int, str], torch.Tensor] = {}
        self._targets = [
            (i, name, mod.act)
            for i, blk in enumerate(model.vit.blocks)
            if blk.side is not None
            for name, mod in blk.side.named_modules()
            if isinstance(mod, Adapter)
        ]
        self._handles: list = []

    def __enter__(self) -> "_HiddenTap":
        for i, name, act in self._targets:
            self._handles.append(
                act.register_forward_hook(
                    lambda m, a, out, key=(i, name): self.found.__setitem__(
                        key, out.detach().float().mean(1)
                    )
                )
            )
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()


@torch.no_grad()
def collect_hidden(
    model: nn.Module, splits: Mapping, norm, n_per_dataset: int = 96, device="cpu"
) -> Dict[str, Dict[str, object]]:
    """``{dataset: {"cls": (N, D), "hidden": {(layer, module): (N, H)}}}`` for the first
    ``n_per_dataset`` samples of each split, through the dataset's routed path."""
    model.eval()
    out: Dict[str, Dict[str, object]] = {}
    for name, split in splits.items():
        cls, hidden = [], {}
        for x, _ in iter_batches(split, 64, n_per_dataset):
            x = prepare(model, name, x, norm, torch.device(device))
            with _HiddenTap(model) as tap:
                feats = model.encode(x, model.routing[name], model.infos[name].is_3d)
            cls.append(feats[:, 0].float().cpu().numpy())
            for key, h in tap.found.items():
                hidden.setdefault(key, []).append(h.cpu().numpy())
        out[name] = {"cls": np.concatenate(cls), "hidden": {k: np.concatenate(v) for k, v in
                                                            hidden.items()}}  # fmt: skip
    return out


def _basis(x: np.ndarray, k: int) -> Optional[np.ndarray]:
    z = x.astype(np.float64) - x.mean(0)
    if not np.abs(z).max() > 0:
        return None
    return np.linalg.svd(z, full_matrices=False)[2][:k].T


def mean_angle(a: np.ndarray, b: np.ndarray, k: int = 8) -> float:
    """Mean principal angle (degrees) between the top-``k`` principal subspaces of two sets of
    vectors (rows), each centred; NaN where one set does not vary."""
    if min(len(a), len(b)) <= k:
        raise ValueError(f"mean_angle needs more than k={k} rows per set; got {len(a)}, {len(b)}.")
    u, v = _basis(a, k), _basis(b, k)
    return (
        float("nan") if u is None or v is None else float(np.degrees(subspace_angles(u, v)).mean())
    )


def separation(
    feats: Mapping[str, Mapping[str, object]], k: int = 8
) -> Dict[str, Dict[str, float]]:
    """``{"cls": {"a|b": angle}, "hidden": {"a|b": mean over layers}}``; a pair in different
    modules has no hidden angle."""
    out: Dict[str, Dict[str, float]] = {"cls": {}, "hidden": {}}
    for a, b in itertools.combinations(list(feats), 2):
        out["cls"][f"{a}|{b}"] = mean_angle(feats[a]["cls"], feats[b]["cls"], k)
        shared = sorted(set(feats[a]["hidden"]) & set(feats[b]["hidden"]))
        if shared:
            angles = [mean_angle(feats[a]["hidden"][s], feats[b]["hidden"][s], k) for s in shared]
            out["hidden"][f"{a}|{b}"] = float(np.nanmean(angles))
    return out


@torch.no_grad()
def attention_shift(trained, initial, dataset: str, n_samples: int = 16) -> float:
    """Mean Pearson correlation between the trained and the initial model's attention-rollout
    maps of the first ``n_samples`` test samples of ``dataset`` (workbenches of one run)."""
    from .attention import rollout_map

    index = list(range(min(n_samples, len(trained.data[dataset]["test"]))))
    x = trained.prepared(dataset, "test", index)
    maps = [rollout_map(wb.model, x, dataset)[1].flatten(1).numpy() for wb in (trained, initial)]
    return float(np.mean([np.corrcoef(p, q)[0, 1] for p, q in zip(*maps)]))


def learned_vs_initial(
    run_dir, checkpoint: str = "best", n_per_dataset: int = 96, k: int = 8, n_attention: int = 16
) -> Dict[str, object]:
    """The three measurements on ``run_dir``'s trained model and on the same model at
    initialisation: ``{"trained": separation, "initial": separation, "attention": {dataset:
    correlation}}``."""
    from .workbench import Workbench

    trained = Workbench.from_run(run_dir, checkpoint)
    initial = Workbench.from_run(run_dir, "initial")
    result: Dict[str, object] = {}
    for label, wb in (("trained", trained), ("initial", initial)):
        splits = {n: wb.data[n]["test"] for n in wb.datasets}
        result[label] = separation(collect_hidden(wb.model, splits, wb.norm, n_per_dataset), k)
    result["attention"] = {n: attention_shift(trained, initial, n, n_attention) for n in
                           trained.datasets}  # fmt: skip
    return result
