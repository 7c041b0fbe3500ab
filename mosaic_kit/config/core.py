"""One flat key space shared by the CLI (``--set key=value``), YAML presets and notebook
parameters. Inside, the keys every run has form the ``Config`` dataclass below; each method's own
keys form a small options dataclass (a subclass of ``Options``) that the method registers with
``register_options``, the way a peft tuner owns its config. Users never see the split:
``bottleneck_a`` or ``lora_rank`` is set like ``lr``, ``cfg.lora_rank`` reads it, and
``to_dict()`` (what ``config.yaml`` holds) is flat. A preset is a YAML file in
``mosaic_kit/config/presets`` holding a subset of the keys; ``load_config`` applies preset, then
YAML file, then ``--set`` overrides, and validates it.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Type

from .coerce import range_problems, type_problems
from .options import (
    O,
    Options,
    option,
    register_options,
    registered_options,
    reserve_shared_keys,
    unregister_options,
)
from .options import option_fields as _option_fields

__all__ = [
    "Config",
    "Options",
    "option",
    "register_options",
    "unregister_options",
    "all_keys",
    "key_help",
    "path_keys",
    "LEGACY_DEFAULTS",
    "recorded_defaults",
]


# : Keys whose default changed after they were added, with the value a run recorded without them
# had: such a run
#: counts at this value, not at today's default (a new key's default keeps the old behaviour).
LEGACY_DEFAULTS: Dict[str, Any] = {"tokenizer_3d_init": "random"}


def recorded_defaults() -> Dict[str, Any]:
    """The value of every key for a run whose recorded configuration lacks it (written before the
    key existed)."""
    return {**Config().to_dict(), **LEGACY_DEFAULTS}


_f = option  # a shared key: default, help text, path=True for files and folders


@dataclass
class Config:
    # --- what to train on -----------------------------------------------------------------------
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
    # --- model ------------------------------------------------------------------------------------
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
    # --- training ---------------------------------------------------------------------------------
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
    # --- speed (each switch is measured in benchmarks/perf.py)
    # ----------------------------------------
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

    method_options: Dict[str, Any] = field(
        default_factory=dict, repr=False
    )  # every method's own keys, flat

    def __post_init__(self) -> None:
        if isinstance(self.datasets, str):
            self.datasets = [d for d in self.datasets.split(",") if d.strip()]
        if self.tokenizer_3d_init == "auto":  # recorded as what ran: config.yaml never says "auto"
            self.tokenizer_3d_init = "inflate" if self.weights else "random"
        problems = type_problems(self)
        if problems:  # range checks below assume the right types
            raise ValueError("Invalid configuration: " + "; ".join(problems))
        problems = range_problems(
            self,
            positive=(
                "rounds",
                "steps_per_dataset",
                "batch_size",
                "eval_batch_size",
                "img_size",
                "vol_size",
                "patch_3d",
                "log_every",
                "max_bad_steps",
                "prefetch",
                "adapter_scale",
                "lr_3d_scale",
            ),
            non_negative=(
                "lr",
                "weight_decay",
                "warmup_steps",
                "min_lr",
                "grad_clip",
                "consistency_weight",
                "patience",
                "threads",
                "seed",
            ),
        )
        for key in ("affine_3d", "jitter_3d"):
            if not 0.0 <= getattr(self, key) < 0.5:
                problems.append(f"{key} must be in [0, 0.5) (got {getattr(self, key)})")
        if self.seed >= 2**63:
            problems.append(
                "seed must be below 2**63, the largest the random generators take (got "
                f"{self.seed})"
            )
        if not 0 <= self.rotation_deg <= 180:
            problems.append(f"rotation_deg must be in [0, 180] (got {self.rotation_deg})")
        for lr in (self.lr, *self.lr_per_dataset.values()):
            if self.min_lr > lr:
                problems.append(
                    f"min_lr ({self.min_lr}) must be at most every learning rate (got {lr})"
                )
        if self.lr_per_dataset and not self.independent:
            problems.append(
                "lr_per_dataset applies to independent=true runs (one model per dataset); a joint "
                "run has one learning rate: set lr (and lr_3d_scale for the 3D datasets' tensors)"
            )
        for key in ("ema_momentum", "ema_momentum_3d"):
            if not 0.0 <= getattr(self, key) < 1.0:
                problems.append(f"{key} must be in [0, 1) (got {getattr(self, key)})")
        for key, sizes, kind in (("size", (28, 64, 128, 224), "2D"), ("size_3d", (28, 64), "3D")):
            if getattr(self, key) not in sizes:
                problems.append(
                    f"{key} must be one of {sizes} for {kind} files (got {getattr(self, key)})"
                )
        if self.patch_3d > 0 and self.vol_size % self.patch_3d:  # patch_3d <= 0 is refused above
            problems.append(
                f"vol_size ({self.vol_size}) must be a multiple of patch_3d ({self.patch_3d})"
            )
        choices = {
            "norm": ("auto", "imagenet", "half"),
            "adapter_input": ("residual", "norm"),
            "amp": ("auto", "bf16", "off"),
            "tracker": ("tensorboard", "mlflow", "none"),
            "tokenizer_3d_init": ("auto", "random", "inflate", "acs"),
            "select_metric": ("acc", "auc"),
            "class_balance": ("none", "loss", "sampler"),
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                problems.append(
                    f"{key} must be one of {', '.join(allowed)} (got '{getattr(self, key)}')"
                )
        for key, low in (
            ("loader_workers", 0),
            ("eval_max_samples", 1),
            ("steps_per_dataset_3d", 1),
        ):
            if getattr(self, key) is not None and getattr(self, key) < low:
                problems.append(f"{key} must be >= {low} or None (got {getattr(self, key)})")
        if problems:
            raise ValueError("Invalid configuration: " + "; ".join(problems))
        from ..data.specs import (
            register_spec_files,
        )  # (the registry reads medmnist, which imports torch)

        register_spec_files(self.custom_datasets)  # their names become valid in `datasets`
        self._check_method_options()

    def _check_method_options(self) -> None:
        """Fill every registered method key (defaults for the unset), validated by its options
        class."""
        values = dict(self.method_options)
        _check_keys(list(values), "method options", valid=list(_option_fields()))
        checked: Dict[str, Any] = {}
        for cls in registered_options():
            names = [f.name for f in dataclasses.fields(cls)]
            opts = cls(**{k: values[k] for k in names if k in values})
            checked.update({k: getattr(opts, k) for k in names})
        self.method_options = checked

    def __getattr__(self, name: str) -> Any:  # flat read access to the methods' keys: cfg.lora_rank
        opts = self.__dict__.get("method_options")
        if opts is not None and name in opts:
            return opts[name]
        raise AttributeError(f"'Config' has no key '{name}'")

    def options(self, cls: Type[O]) -> O:
        """The typed options of one method, e.g. ``cfg.options(LoraOptions)``."""
        return cls(**{f.name: self.method_options[f.name] for f in dataclasses.fields(cls)})

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Config":
        """A Config from flat keys (shared and method keys mixed, as in ``config.yaml``)."""
        shared = {f.name for f in dataclasses.fields(cls) if f.name != "method_options"}
        _check_keys(list(values), "the configuration")
        return cls(
            **{k: v for k, v in values.items() if k in shared},
            method_options={k: v for k, v in values.items() if k not in shared},
        )

    def to_dict(self) -> Dict[str, Any]:
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "method_options"
        }
        out = {
            k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
            for k, v in out.items()
        }
        return {**out, **self.method_options}


reserve_shared_keys([f.name for f in dataclasses.fields(Config) if f.name != "method_options"])


def _shared_fields() -> Dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(Config) if f.name != "method_options"}


def all_keys() -> List[str]:
    """Every configuration key: the shared ones, then each registered method's."""
    return list(_shared_fields()) + list(_option_fields())


def key_defaults() -> Dict[str, Any]:
    """Every key's declared default (before ``Config`` resolves values such as ``auto``)."""
    return {
        name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
        for name, f in {**_shared_fields(), **_option_fields()}.items()
    }


def key_help() -> Dict[str, str]:
    return {
        name: f.metadata["help"] for name, f in {**_shared_fields(), **_option_fields()}.items()
    }


def path_keys() -> List[str]:
    """Keys whose values are files or folders."""
    return [
        name
        for name, f in {**_shared_fields(), **_option_fields()}.items()
        if f.metadata.get("path")
    ]


def _check_keys(keys: Sequence[str], where: str, valid: Optional[Sequence[str]] = None) -> None:
    valid = all_keys() if valid is None else list(valid)
    for key in keys:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)  # "lrate" -> "lr"
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ValueError(
                f"Unknown configuration key '{key}' in {where}.{hint} "
                f"Run `python -m mosaic_kit keys` to list all keys."
            )
