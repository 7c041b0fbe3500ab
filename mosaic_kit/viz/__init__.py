"""Looking inside a model and showing runs: attention, attributions, subspaces, gates, the figures.

Looking inside a MOSAIC model: recorded attention and rollout, captum attributions, specialist
subspaces, and the figures the notebooks show."""

from .attention import (
    AttentionRecorder,
    attention_rollout,
    cls_attention_map,
    rollout_map,
    token_grid,
)
from .attribution import DatasetClassifier, integrated_gradients, patch_attributions
from .subspaces import (
    collect_features,
    dataset_output_angles,
    embed_2d,
    has_specialists,
    linear_cka,
    random_subspace_angles,
    specialist_angle_baselines,
    specialist_angles,
    specialist_cka,
)

__all__ = [
    "AttentionRecorder",
    "attention_rollout",
    "cls_attention_map",
    "rollout_map",
    "token_grid",
    "DatasetClassifier",
    "integrated_gradients",
    "patch_attributions",
    "collect_features",
    "dataset_output_angles",
    "embed_2d",
    "linear_cka",
    "has_specialists",
    "specialist_angles",
    "specialist_cka",
    "random_subspace_angles",
    "specialist_angle_baselines",
]
