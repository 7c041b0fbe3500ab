"""Looking inside a model and showing runs: attention, attributions, subspaces, figures."""

from .attention import (
    AttentionRecorder,
    attention_rollout,
    cls_attention_map,
    rollout_map,
    token_grid,
)
from .attribution import DatasetClassifier, integrated_gradients, patch_attributions
from .similarity import embed_2d, linear_cka, specialist_cka
from .subspaces import (
    collect_features,
    dataset_output_angles,
    has_specialists,
    random_subspace_angles,
    specialist_angle_baselines,
    specialist_angles,
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
