"""How a method with a gate weighs its experts, sample by sample: ``gmoe``'s gate between its two
backbones, ``gmoe-shared``'s per-token gates, ``mos-soft``'s router (methods without one have
nothing to show)."""

from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np
import torch

from ..methods.diagnostics import mixing_modules

__all__ = ["sample_gate_weights", "gate_figure"]


@torch.no_grad()
def sample_gate_weights(model, x: torch.Tensor, dataset: str) -> Tuple[np.ndarray, List[str]]:
    """``(B, K)`` weight each sample of a prepared batch gives each expert (mean over the mixing
    modules and, for per-token gates, the tokens), and the experts' names."""
    mods = mixing_modules(model)
    if not mods:
        raise ValueError(
            f"method '{model.method}' mixes no experts; gate weights exist for gmoe, gmoe-shared "
            "and mos-soft."
        )
    was_training = model.training
    model.eval()
    model.forward_features(x, dataset)
    model.train(was_training)
    per = [
        m.mixing_weights.float().reshape(x.shape[0], -1, m.mixing_weights.shape[-1]).mean(1)
        for m in mods
    ]
    return torch.stack(per).mean(0).cpu().numpy(), list(mods[0].mixing_names)


def gate_figure(
    weights: Dict[str, np.ndarray], names: List[str], title: str = "gate weights per sample"
):
    """One panel per expert: each dataset's samples as dots (weight on that expert) over a box of
    their spread."""
    import matplotlib.pyplot as plt

    datasets = list(weights)
    fig, axes = plt.subplots(
        1,
        len(names),
        figsize=(3.2 * len(names) + 1, 0.45 * len(datasets) + 1.6),
        sharey=True,
        squeeze=False,
    )
    rng = np.random.default_rng(0)
    for k, (ax, expert) in enumerate(zip(axes[0], names)):
        values = [weights[d][:, k] for d in datasets]
        ax.boxplot(values, vert=False, showfliers=False, widths=0.6)
        for i, v in enumerate(values):
            ax.scatter(v, np.full(len(v), i + 1) + rng.uniform(-0.15, 0.15, len(v)), s=6, alpha=0.5)
        ax.axvline(1 / len(names), color="grey", lw=0.8, ls="--")  # an even mix
        ax.set(xlim=(0, 1), xlabel=f"weight on '{expert}'")
    axes[0][0].set_yticks(range(1, len(datasets) + 1), datasets)
    fig.suptitle(f"{title} (dashed: an even mix)", fontsize=10)
    fig.tight_layout()
    return fig
