"""Frozen timm ViT backbones: creation, weights from a local file (through timm's loaders),
normalisation."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import timm
import torch
from timm.data import resolve_data_config
from timm.models import load_checkpoint
from timm.models.vision_transformer import Block, VisionTransformer, checkpoint_filter_fn

from ..data.transforms import Normalization
from ..utils.npz import open_npz
from .pretrained import resolve_weights

__all__ = ["create_backbone", "load_backbone_weights", "resolve_normalization", "WEIGHT_SUFFIXES"]

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".npz")
_IMAGENET = Normalization((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_HALF = Normalization((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def _drop_classifier(
    state_dict: Dict[str, torch.Tensor], model: VisionTransformer
) -> Dict[str, torch.Tensor]:
    """timm's own ViT filter (pos-embed resampling, key upgrades), minus the ImageNet classifier."""
    state_dict = checkpoint_filter_fn(state_dict, model)
    return {k: v for k, v in state_dict.items() if not k.startswith("head.")}


def load_backbone_weights(model: VisionTransformer, path: str | Path) -> None:
    """Load ``.safetensors``/``.pth`` (timm layout) or Google ``.npz`` weights into a headless
    ViT."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"Backbone weights '{path}' not found. Give a local .safetensors/.pth file in "
            f"timm's layout or a Google .npz (e.g. ViT-B_16.npz), or weights=None."
        )
    if path.suffix.lower() not in WEIGHT_SUFFIXES:
        raise ValueError(
            f"Backbone weights '{path}' have an unknown suffix; use one of "
            f"{', '.join(WEIGHT_SUFFIXES)}."
        )
    try:
        if path.suffix.lower() == ".npz":
            load_checkpoint(model, str(path))  # timm dispatches to the ViT's Google-layout loader
        else:
            load_checkpoint(model, str(path), strict=True, filter_fn=_drop_classifier)
    except (RuntimeError, ValueError, KeyError, IndexError) as err:
        raise ValueError(_mismatch_report(model, path, err)) from None
    except Exception as err:  # noqa: BLE001 - not a weights file at all (safetensors, pickle or zip readers)
        arch = model.pretrained_cfg.get("architecture", "this backbone")
        raise ValueError(
            f"Backbone weights '{path}' could not be read as a {path.suffix} weights file "
            f"({type(err).__name__}: {err}); point `weights` at a {arch} file in timm's layout or "
            "a Google .npz."
        ) from None


def _vit_shape(width: int, depth: int) -> str:
    return f"{width}-wide ViT with {depth} blocks"


def _mismatch_report(model: VisionTransformer, path: Path, err: Exception) -> str:
    """Say which tensors of a weights file disagree with the backbone, and what the file looks
    like."""
    import re

    from timm.models import load_state_dict

    name = model.pretrained_cfg.get("architecture", type(model).__name__)
    ours = _vit_shape(model.embed_dim, len(model.blocks))
    fix = (
        "Set `backbone` to the architecture the weights belong to, or point `weights` at this "
        "backbone's file."
    )
    if path.suffix.lower() == ".npz":
        with open_npz(
            path, "Google ViT checkpoint (.npz)", "Point `weights` at a complete checkpoint."
        ) as z:
            keys = list(z.keys())
            width = z["cls"].shape[-1] if "cls" in z else None
        depth = len(
            {
                m.group(1)
                for k in keys
                for m in [re.match(r"Transformer/encoderblock_(\d+)/", k)]
                if m
            }
        )
        looks = (
            f"a {_vit_shape(width, depth)}"
            if width
            else "not a Google ViT checkpoint (no 'cls' array)"
        )
        return (
            f"{path} (Google npz layout) does not fit backbone '{name}' ({ours}): the file is "
            f"{looks}. {fix} (timm said: {str(err).splitlines()[0][:200]})"
        )
    state = load_state_dict(str(path))
    model_state = model.state_dict()
    width = state["cls_token"].shape[-1] if "cls_token" in state else None
    depth = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    # token count: timm resamples
    wrong = [
        f"{k} {tuple(v.shape)} in the file vs {tuple(model_state[k].shape)} in the model"
        for k, v in state.items()
        if k in model_state
        and tuple(v.shape) != tuple(model_state[k].shape)
        and not (k == "pos_embed" and v.shape[-1] == model_state[k].shape[-1])
    ]
    missing = [k for k in model_state if k not in state]
    extra = [k for k in state if k not in model_state and not k.startswith("head.")]
    parts = [
        f"{path} does not fit backbone '{name}' ({ours})"
        + (f": the file looks like a {_vit_shape(width, depth)}." if width else ".")
    ]
    if wrong:
        parts.append(f"{len(wrong)} tensors disagree, e.g. " + "; ".join(wrong[:3]) + ".")
    if missing:
        parts.append(
            f"{len(missing)} tensors missing from the file, e.g. {', '.join(missing[:3])}."
        )
    if extra:
        parts.append(f"{len(extra)} unexpected tensors in the file, e.g. {', '.join(extra[:3])}.")
    return " ".join(parts + [fix])


def create_backbone(
    name: str, weights: Optional[str | Path] = None, img_size: int = 224
) -> VisionTransformer:
    """A headless timm ViT at ``img_size``, frozen, with weights from ``weights`` (a local file,
    or a timm name ``timm:ARCH[.TAG]`` read from the Hugging Face cache; ``None``: random init)."""
    not_vit = (
        f"'{name}' is not a plain timm VisionTransformer with pre-norm blocks; "
        "MOSAIC needs one (e.g. vit_base_patch16_224, deit_tiny_patch16_224)."
    )
    if not timm.is_model(name):
        close = timm.list_models(f"*{name.split('_')[0]}*")[:8]
        raise ValueError(
            f"timm has no model '{name}'. Similar names: {', '.join(close) or 'none'}."
        )
    try:
        model = timm.create_model(name, pretrained=False, num_classes=0, img_size=img_size)
    except TypeError:  # the architecture takes no img_size: not a ViT
        raise ValueError(not_vit) from None
    if not isinstance(model, VisionTransformer) or not all(type(b) is Block for b in model.blocks):
        raise ValueError(not_vit)
    patch = model.patch_embed.patch_size[0]
    if img_size % patch:
        raise ValueError(
            f"img_size ({img_size}) must be a multiple of {name}'s patch size ({patch}); use e.g. "
            f"{max(patch, img_size // patch * patch)} or {(img_size // patch + 1) * patch}."
        )
    if weights:
        load_backbone_weights(model, resolve_weights(str(weights), name))
    model.requires_grad_(False)
    return model


def resolve_normalization(model: VisionTransformer, norm: str = "auto") -> Normalization:
    """Input mean/std: from the weights' pretrained config (``auto``), or forced ImageNet / 0.5."""
    if norm == "imagenet":
        return _IMAGENET
    if norm == "half":
        return _HALF
    cfg = resolve_data_config({}, model=model)
    return Normalization(tuple(cfg["mean"]), tuple(cfg["std"]))
