"""One flat configuration shared by the CLI (``--set key=value``), YAML presets and notebook parameters.

A preset is a YAML file in ``mosaic_kit/presets`` holding a subset of the keys below; ``load_config``
applies preset, then YAML file, then ``--set`` overrides, and validates the result.
"""
from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import yaml

__all__ = ["Config", "PRESET_DIR", "available_presets", "load_config", "parse_set"]

PRESET_DIR = Path(__file__).parent / "presets"


def _f(default: Any, help: str) -> Any:  # noqa: A002 - mirrors dataclasses' metadata idiom
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class Config:
    # --- what to train on -----------------------------------------------------------------------
    datasets: List[str] = _f(["all"], "dataset names or the groups all / 2d / 3d")
    data_root: str = _f("synthetic", "folder of official MedMNIST npz files, or 'synthetic' for the embedded suite")
    size: int = _f(28, "2D file size to read: 28, 64, 128 or 224")
    size_3d: int = _f(28, "3D file size to read: 28 or 64")
    download: bool = _f(False, "download missing npz files from MedMNIST's Zenodo records")
    cache_dir: Optional[str] = _f(None, "where memory-mapped .npy copies go (default ~/.cache/mosaic_kit)")
    routing: Dict[str, str] = _f({}, "overrides of the paper's routing, e.g. {tissuemnist: B}")
    # --- model ------------------------------------------------------------------------------------
    method: str = _f("mos", "method (python -m mosaic_kit methods): mos (MOSAIC), mos-soft, adapter, adapter-dataset, "
                             "lora, vpt, gmoe, linear, bitfit, partial, full")
    independent: bool = _f(False, "train one single-task model per dataset instead of one joint model")
    backbone: str = _f("vit_base_patch16_224", "any timm ViT name")
    weights: Optional[str] = _f(None, "local backbone weights (.safetensors, .pth or Google .npz); None = random init")
    norm: str = _f("auto", "input normalisation: auto (from the backbone's pretrained config), imagenet, half")
    img_size: int = _f(224, "2D input resolution seen by the backbone (images are resized to it)")
    vol_size: int = _f(64, "3D input side seen by the tokenizer (volumes are resized to it)")
    patch_3d: int = _f(8, "Conv3d kernel = stride of the 3D tokenizer")
    bottleneck_a: int = _f(64, "bottleneck of specialist A")
    bottleneck_b: int = _f(96, "bottleneck of specialist B")
    bottleneck_c: int = _f(192, "bottleneck of specialist C")
    adapter_scale: float = _f(0.1, "scale s of the adapter output")
    adapter_input: str = _f("residual", "adapter reads the residual stream ('residual', AdaptFormer) or norm2(x) ('norm')")
    adapter_bottleneck: int = _f(192, "bottleneck of method=adapter (one shared adapter) and adapter-dataset")
    lora_rank: int = _f(8, "LoRA rank r on the attention qkv projection (method=lora)")
    lora_alpha: float = _f(16.0, "LoRA alpha (scaling alpha / r)")
    lora_dropout: float = _f(0.0, "LoRA dropout")
    vpt_prompts: int = _f(10, "VPT prompt tokens P per layer (method=vpt)")
    vpt_deep: bool = _f(True, "VPT-deep (new prompts at every layer) or VPT-shallow (prompts at the input only)")
    gmoe_bottleneck: int = _f(64, "bottleneck of each GMoE-Adapter expert (method=gmoe)")
    gmoe_init_general: Optional[str] = _f(None, "safetensors of a trained adapter to start the 'general' expert from")
    gmoe_init_medical: Optional[str] = _f(None, "safetensors of a trained adapter to start the 'medical' expert from")
    partial_blocks: int = _f(2, "method=partial: how many of the last blocks train")
    # --- training ---------------------------------------------------------------------------------
    rounds: int = _f(100, "cyclic rounds at most (one round visits every dataset once)")
    steps_per_dataset: int = _f(100, "optimiser steps per dataset per round")
    full_epoch: bool = _f(False, "one full epoch of each dataset per round instead of a fixed step count")
    batch_size: int = _f(32, "training batch size")
    eval_batch_size: int = _f(128, "evaluation batch size")
    lr: float = _f(1e-4, "AdamW peak learning rate")
    weight_decay: float = _f(0.05, "AdamW weight decay")
    warmup_steps: int = _f(500, "linear warm-up steps before the cosine decay")
    min_lr: float = _f(1e-6, "learning rate at the end of the cosine")
    grad_clip: float = _f(1.0, "gradient-norm clip (0 = off)")
    max_bad_steps: int = _f(5, "stop after this many steps in a row with a non-finite loss or gradient (skipped)")
    ema_momentum: float = _f(0.9, "teacher EMA momentum for 2D datasets")
    ema_momentum_3d: float = _f(0.95, "teacher EMA momentum for 3D datasets")
    consistency_weight: float = _f(0.1, "weight of the student/teacher CLS consistency loss (0 = off)")
    patience: int = _f(5, "early stopping: rounds without a better mean validation accuracy")
    augment: bool = _f(True, "training augmentations (2D flips/rotation, 3D flips/intensity jitter)")
    rotation_deg: float = _f(15.0, "2D random rotation range in degrees")
    eval_max_samples: Optional[int] = _f(None, "evaluate on at most this many samples per split (None = all)")
    seed: int = _f(42, "random seed")
    device: str = _f("auto", "auto, cpu, cuda, cuda:N")
    amp: str = _f("auto", "autocast dtype: auto (bf16 on CUDA, off on CPU), bf16, off")
    threads: int = _f(0, "torch CPU threads (0 = torch's default)")
    # --- speed (each switch is measured in benchmarks/perf.py) ----------------------------------------
    fused_attn: bool = _f(True, "fused scaled-dot-product attention (timm's default; the attention notebooks "
                                "switch it off only while they record)")
    compile: bool = _f(False, "torch.compile every transformer block (one graph per specialist)")
    channels_last: bool = _f(False, "channels-last memory format for the patch embeddings and their input")
    grad_checkpointing: bool = _f(False, "recompute block activations in backward (less memory for large batches)")
    loader_workers: Optional[int] = _f(None, "threads reading training batches ahead (0 = on the training thread; "
                                             "None = 2 on CUDA, 0 on CPU, where they would take the step's cores)")
    prefetch: int = _f(4, "training batches read ahead")
    pin_memory: bool = _f(True, "page-locked batches for asynchronous host-to-device copies (CUDA only)")
    out: str = _f("runs/mosaic", "run directory")
    log_every: int = _f(10, "progress-bar refresh period in steps")

    def __post_init__(self) -> None:
        if isinstance(self.datasets, str):
            self.datasets = [d for d in self.datasets.split(",") if d.strip()]
        problems = self._type_problems()
        if problems:  # range checks below assume the right types
            raise ValueError("Invalid configuration: " + "; ".join(problems))
        for key in ("rounds", "steps_per_dataset", "batch_size", "eval_batch_size", "img_size", "vol_size",
                    "patch_3d", "bottleneck_a", "bottleneck_b", "bottleneck_c", "log_every", "adapter_bottleneck", "max_bad_steps",
                    "lora_rank", "vpt_prompts", "gmoe_bottleneck", "partial_blocks", "prefetch"):
            if getattr(self, key) <= 0:
                problems.append(f"{key} must be > 0 (got {getattr(self, key)})")
        for key in ("lr", "weight_decay", "warmup_steps", "min_lr", "grad_clip", "consistency_weight", "patience",
                    "threads", "lora_alpha", "lora_dropout"):
            if getattr(self, key) < 0:
                problems.append(f"{key} must be >= 0 (got {getattr(self, key)})")
        for key in ("ema_momentum", "ema_momentum_3d"):
            if not 0.0 <= getattr(self, key) < 1.0:
                problems.append(f"{key} must be in [0, 1) (got {getattr(self, key)})")
        if self.size not in (28, 64, 128, 224):
            problems.append(f"size must be one of 28, 64, 128, 224 for 2D files (got {self.size})")
        if self.size_3d not in (28, 64):
            problems.append(f"size_3d must be 28 or 64 for 3D files (got {self.size_3d})")
        if self.vol_size % self.patch_3d:
            problems.append(f"vol_size ({self.vol_size}) must be a multiple of patch_3d ({self.patch_3d})")
        choices = {"norm": ("auto", "imagenet", "half"), "adapter_input": ("residual", "norm"),
                   "amp": ("auto", "bf16", "off")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                problems.append(f"{key} must be one of {', '.join(allowed)} (got '{getattr(self, key)}')")
        if self.loader_workers is not None and self.loader_workers < 0:
            problems.append(f"loader_workers must be >= 0 or None (got {self.loader_workers})")
        if self.eval_max_samples is not None and self.eval_max_samples <= 0:
            problems.append(f"eval_max_samples must be > 0 or None (got {self.eval_max_samples})")
        if problems:
            raise ValueError("Invalid configuration: " + "; ".join(problems))

    def _type_problems(self) -> List[str]:
        """Check every value against its declared type (YAML and notebook parameters arrive untyped).

        Strings are coerced like ``--set`` values (so YAML's ``lr: 1e-4``, which PyYAML reads as a string,
        works); ints are accepted where floats are declared; bools are never accepted as numbers.
        """
        problems = []
        for name, hint in typing.get_type_hints(type(self)).items():
            value = getattr(self, name)
            if isinstance(value, str) and hint is not str:
                try:
                    value = _coerce(name, value)
                except ValueError as err:
                    problems.append(str(err))
                    continue
            args = typing.get_args(hint)
            if value is None:
                if type(None) not in args:
                    problems.append(f"'{name}' must not be None")
                continue
            base = next((a for a in args if a is not type(None)), hint) if type(None) in args else hint
            origin = typing.get_origin(base) or base
            if base is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            ok = isinstance(value, origin) and not (origin in (int, float) and isinstance(value, bool))
            if ok and origin is list:
                ok = all(isinstance(v, str) for v in value)
            if ok and origin is dict:
                ok = all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
            if not ok:
                want = {list: "a list of strings", dict: "a mapping of strings to strings"}.get(
                    origin, getattr(origin, "__name__", str(origin)))
                problems.append(f"'{name}' expects {want}, got {value!r} ({type(value).__name__})")
            else:
                setattr(self, name, value)
        return problems

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def help(cls) -> Dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


def available_presets() -> List[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def _check_keys(keys: Sequence[str], where: str) -> None:
    valid = [f.name for f in dataclasses.fields(Config)]
    for key in keys:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ValueError(f"Unknown configuration key '{key}' in {where}.{hint} "
                             f"Run `python -m mosaic_kit keys` to list all keys.")


def _coerce(key: str, raw: Any) -> Any:
    """Turn a ``--set`` string into the type the dataclass field declares."""
    hints = typing.get_type_hints(Config)
    hint = hints[key]
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    optional = type(None) in typing.get_args(hint)
    if optional and text.lower() in ("none", "null", ""):
        return None
    base = next((a for a in typing.get_args(hint) if a is not type(None)), hint) if optional else hint
    origin = typing.get_origin(base)
    try:
        if base is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if base is int:
            return int(text)
        if base is float:
            return float(text)
        if origin is list:
            return [t.strip() for t in text.split(",") if t.strip()]
        if origin is dict:  # "tissuemnist:B,retinamnist:A" or YAML mapping
            if text.startswith("{"):
                return dict(yaml.safe_load(text))
            return dict(pair.split(":", 1) for pair in text.split(",") if pair.strip())
        return text
    except ValueError:
        raise ValueError(f"Configuration key '{key}' expects {getattr(base, '__name__', base)}, got '{raw}'.") from None


def parse_set(items: Sequence[str]) -> Dict[str, Any]:
    """Parse repeated ``key=value`` strings."""
    out: Dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set expects key=value, got '{item}'.")
        key, value = item.split("=", 1)
        key = key.strip()
        _check_keys([key], "--set")
        out[key] = _coerce(key, value)
    return out


def load_config(preset: Optional[str] = None, file: Optional[str] = None,
                overrides: Optional[Mapping[str, Any]] = None) -> Config:
    """Build a validated Config from a preset name, a YAML file and overrides (later wins)."""
    values: Dict[str, Any] = {}
    if preset:
        path = PRESET_DIR / f"{preset}.yaml"
        if not path.exists():
            raise ValueError(f"Unknown preset '{preset}'. Available: {', '.join(available_presets())}.")
        data = yaml.safe_load(path.read_text()) or {}
        _check_keys(list(data), f"preset {path.name}")
        values.update(data)
    if file:
        data = yaml.safe_load(Path(file).read_text()) or {}
        data.pop("preset", None)
        _check_keys(list(data), f"file {file}")
        values.update(data)
    if overrides:
        _check_keys(list(overrides), "overrides")
        values.update({k: _coerce(k, v) for k, v in overrides.items()})
    return Config(**values)
