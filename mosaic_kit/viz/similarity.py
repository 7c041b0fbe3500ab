"""How alike two sets of features are: linear CKA between specialists, and 2D embeddings (PCA,
t-SNE) of features for a map."""

from __future__ import annotations

import itertools
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .subspaces import _run, _specialist_names

__all__ = ["linear_cka", "specialist_cka", "embed_2d"]


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA between two (n, d) representations of the same n inputs: 1 = same up to
    rotation/scale."""
    x = x - x.mean(0, keepdims=True)
    y = y - y.mean(0, keepdims=True)
    num = np.linalg.norm(y.T @ x, "fro") ** 2
    den = np.linalg.norm(x.T @ x, "fro") * np.linalg.norm(y.T @ y, "fro")
    return float(num / den) if den > 0 else float("nan")


@torch.no_grad()
def specialist_cka(
    model: nn.Module, dataset: str, x: torch.Tensor, specialists: Optional[Sequence[str]] = None
) -> Dict[Tuple[str, str], np.ndarray]:
    """Per-layer linear CKA between pairs of specialists' adapter outputs on one prepared batch
    ``x``.

    Every specialist is forced onto the same inputs (3D specialists need 3D inputs: pick
    ``dataset`` of the right modality). NaN where a specialist's output is constant (e.g.
    untrained, zero up-projection).
    """
    model.eval()
    names = list(specialists or _specialist_names(model))
    feats = {s: _run(model, dataset, x, s)[1].cpu().numpy() for s in names}
    return {
        (a, b): np.array(
            [linear_cka(feats[a][:, i], feats[b][:, i]) for i in range(feats[a].shape[1])]
        )
        for a, b in itertools.combinations(names, 2)
    }


def embed_2d(features: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """2D map of (n, d) features: ``"pca"`` or ``"tsne"`` (scikit-learn)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(features)
    if method == "tsne":
        perplexity = float(min(30, max(2, (len(features) - 1) // 3)))
        return TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=seed
        ).fit_transform(features)
    raise ValueError(f"method must be 'pca' or 'tsne', got '{method}'.")
