"""The keys every run has, in four groups (what to train on, the model, training, speed); ``Config``
joins them, in this order, with each method's own keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from .options import option

__all__ = ["DataKeys", "ModelKeys", "TrainingKeys", "SpeedKeys", "RESUMABLE"]

#: Keys a resume may change (``train --resume RUN --set rounds=12``); every other key is the
#: experiment's.
RESUMABLE = (
    "rounds",
    "patience",
    "log_every",
    "max_bad_steps",
    "eval_batch_size",
    "device",
    "threads",
    "loader_workers",
    "prefetch",
    "pin_memory",
    "out",
    "cache_dir",
)

_f = option  # a shared key: default, help text, path=True for files and folders


@dataclass
class DataKeys:
    """What to train on: datasets, where their files are, routing, your own datasets."""

    datasets: List[str] = _f(["all"], "dataset names or the groups all / 2d / 3d")
    data_root: str = _f(
        "synthetic",
        "folder of official MedMNIST npz files, or 'synthetic' for the embedded suite",
        path=True,
    )
    size: int = _f(28, "2D file size to read: 28, 64, 128 or 224")
    size_3d: int = _f(28, "3D file size to read: 28 or 64")
    download: bool = _f(False, "download missing npz files from MedMNIST's Zenodo records")
    cache_dir: Optional[str] = _f(
        None, "where memory-mapped .npy copies go (default ~/.cache/mosaic_kit)", path=True
    )
    routing: Dict[str, str] = _f({}, "overrides of the paper's routing, e.g. {tissuemnist: B}")
    custom_datasets: List[str] = _f(
        [], "spec files (YAML) of your own datasets, then named in datasets", path=True
    )


@dataclass
class ModelKeys:
    """The model: method, backbone and weights, input sizes, the 3D tokenizer, the adapters'
    scale."""

    method: str = _f(
        "mos",
        "method (python -m mosaic_kit methods): mos (MOSAIC), mos-soft, adapter, adapter-dataset, "
        "lora, vpt, gmoe, gmoe-shared, linear, bitfit, partial, full",
    )
    independent: bool = _f(
        False, "train one single-task model per dataset instead of one joint model"
    )
    backbone: str = _f("vit_base_patch16_224", "any timm ViT name")
    weights: Optional[str] = _f(
        None,
        "local backbone weights (.safetensors, .pth or Google .npz); None = random init",
        path=True,
    )
    norm: str = _f(
        "auto", "input normalisation: auto (from the backbone's pretrained config), imagenet, half"
    )
    img_size: int = _f(224, "2D input resolution seen by the backbone (images are resized to it)")
    vol_size: int = _f(64, "3D input side seen by the tokenizer (volumes are resized to it)")
    patch_3d: int = _f(8, "Conv3d kernel = stride of the 3D tokenizer")
    tokenizer_3d_init: str = _f(
        "auto",
        "3D tokenizer start: random, inflate (the pretrained 2D patch and position "
        "embedding spread over depth), acs (the 2D kernel split over the axial, "
        "coronal and sagittal planes), or auto: inflate when weights are given, "
        "else random",
    )
    adapter_scale: float = _f(0.1, "scale s of the adapter output")
    adapter_input: str = _f(
        "residual",
        "side modules read the residual stream ('residual', AdaptFormer) or norm2(x) ('norm')",
    )


@dataclass
class TrainingKeys:
    """Training: schedule, optimiser, EMA teacher, selection, augmentation, seeds and devices."""

    rounds: int = _f(100, "cyclic rounds at most (one round visits every dataset once)")
    steps_per_dataset: int = _f(100, "optimiser steps per dataset per round")
    full_epoch: bool = _f(
        False, "one full epoch of each dataset per round instead of a fixed step count"
    )
    batch_size: int = _f(32, "training batch size")
    eval_batch_size: int = _f(128, "evaluation batch size")
    lr: float = _f(1e-4, "AdamW peak learning rate")
    lr_per_dataset: Dict[str, float] = _f(
        {},
        "independent=true only: a peak learning rate per dataset (e.g. tuned on "
        "each dataset's validation split), others use lr",
    )
    weight_decay: float = _f(0.05, "AdamW weight decay")
    warmup_steps: int = _f(500, "linear warm-up steps before the cosine decay")
    min_lr: float = _f(1e-6, "learning rate at the end of the cosine")
    grad_clip: float = _f(1.0, "gradient-norm clip (0 = off)")
    max_bad_steps: int = _f(
        5, "stop after this many steps in a row with a non-finite loss or gradient (skipped)"
    )
    ema_momentum: float = _f(0.9, "teacher EMA momentum for 2D datasets")
    ema_momentum_3d: float = _f(0.95, "teacher EMA momentum for 3D datasets")
    consistency_weight: float = _f(
        0.1, "weight of the student/teacher CLS consistency loss (0 = off)"
    )
    patience: int = _f(5, "early stopping: rounds without a better mean validation select_metric")
    select_metric: str = _f(
        "acc", "mean validation metric that picks the best round (and early stopping): acc, auc"
    )
    class_balance: str = _f(
        "none",
        "class imbalance: none, loss (inverse-frequency class weights), sampler "
        "(class-balanced batches)",
    )
    augment: bool = _f(
        True, "training augmentations (2D flips/rotation, 3D flips/intensity jitter)"
    )
    rotation_deg: float = _f(15.0, "2D random rotation range in degrees")
    rot90_3d: bool = _f(False, "3D: also a random multiple of 90 degrees in the axial plane")
    affine_3d: float = _f(
        0.0, "3D: random zoom in 1 +- a and shift of up to a of the side per axis (0 = off)"
    )
    jitter_3d: float = _f(0.1, "3D intensity jitter: x * (1 +- j) +- j")
    lr_3d_scale: float = _f(
        1.0,
        "learning-rate factor for the tensors only 3D datasets train (3D tokenizer, their "
        "specialist and heads)",
    )
    steps_per_dataset_3d: Optional[int] = _f(
        None, "optimiser steps per round for each 3D dataset (None = steps_per_dataset)"
    )
    eval_max_samples: Optional[int] = _f(
        None, "evaluate on at most this many samples per split (None = all)"
    )
    seed: int = _f(42, "random seed")
    device: str = _f("auto", "auto, cpu, cuda, cuda:N")
    amp: str = _f("auto", "autocast dtype: auto (bf16 on CUDA, off on CPU), bf16, off")
    threads: int = _f(0, "torch CPU threads (0 = torch's default)")


@dataclass
class SpeedKeys:
    """Speed switches (each measured in benchmarks/perf.py), read-ahead, output and tracking."""

    fused_attn: bool = _f(
        True,
        "fused scaled-dot-product attention (timm's default; the attention notebooks "
        "switch it off only while they record)",
    )
    compile: bool = _f(False, "torch.compile every transformer block (one graph per specialist)")
    channels_last: bool = _f(
        False, "channels-last memory format for the patch embeddings and their input"
    )
    grad_checkpointing: bool = _f(
        False, "recompute block activations in backward (less memory for large batches)"
    )
    loader_workers: Optional[int] = _f(
        None,
        "threads reading training batches ahead (0 = on the training thread; "
        "None = 2 on CUDA, 0 on CPU, where they would take the step's cores)",
    )
    prefetch: int = _f(4, "training batches read ahead")
    pin_memory: bool = _f(
        True, "page-locked batches for asynchronous host-to-device copies (CUDA only)"
    )
    out: str = _f("runs/mosaic", "run directory")
    log_every: int = _f(10, "progress-bar refresh period in steps")
    tracker: str = _f(
        "tensorboard",
        "tracking: tensorboard (RUN/tensorboard), mlflow (MLFLOW_TRACKING_URI or "
        "RUN/mlflow.db), none",
    )
