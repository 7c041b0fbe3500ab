"""What a method is, and the registry of methods.

A method turns a headless timm ViT plus the selected datasets into a ``MosaicModel``, the way a peft
tuner turns a base model into a tuned one. It owns everything about itself:

- ``options``: a small dataclass of its own configuration keys (``mosaic_kit.config.Options``);
  registered with the method, its fields are flat keys like any other (``--set lora_rank=4``, YAML,
  notebook parameters);
- ``build``: what sits beside each block (a side module under the attribute ``slot``) or before it
  (prompts), and how datasets are routed to specialists;
- ``trainable``: which tensors train (everything else stays frozen);
- ``component``: what each of its tensors is, for the parameter report;
- ``legacy_renames``: how tensor names of checkpoints written before the current layout map to
  today's.

Every method also trains the per-dataset heads and the 3D tokenizer (volumes have no pretrained
embedding). Side modules that mix several experts keep their latest weights in ``mixing_weights``
(``(B, K)`` or ``(B, T, K)``) with the experts' names in ``mixing_names``;
``methods.diagnostics`` reads them.
"""

from __future__ import annotations

import difflib
from typing import Dict, List, Mapping, Optional, Tuple, Type

import torch
import torch.nn as nn
from timm.models.vision_transformer import VisionTransformer

from ..config import Config, Options, register_options, unregister_options
from ..models.mosaic import MosaicModel

__all__ = [
    "Method",
    "ALWAYS_TRAINABLE",
    "METHODS",
    "register_method",
    "unregister_method",
    "get_method",
    "available_methods",
    "constant_routing",
    "upgrade_names",
    "upgrade_method",
]

#: Tensors every method trains: the per-dataset heads, and the 3D tokenizer (it has no pretrained
#: weights).
ALWAYS_TRAINABLE = ("heads.", "tokenizer_3d.")


def constant_routing(datasets: List[str], name: str) -> Dict[str, str]:
    """Every dataset to the same path ``name`` (methods without specialists)."""
    return {d: name for d in datasets}


class Method:
    """Base class of a method; subclasses set the class attributes and implement ``build``."""

    name: str = ""
    summary: str = ""
    options: Optional[Type[Options]] = None
    slot: Optional[str] = (
        None  # attribute name of the side module in every block: its tensors' name prefix
    )
    legacy_renames: Tuple[
        Tuple[str, str], ...
    ] = ()  # (old substring, new substring) of checkpoint format 1

    def build(self, cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
        raise NotImplementedError

    def make_model(
        self,
        cfg: Config,
        vit: VisionTransformer,
        routing: Mapping[str, str],
        *,
        side=None,
        prompts: Optional[nn.Module] = None,
    ) -> MosaicModel:
        """A ``MosaicModel`` with this method's side module (under ``slot``) or prompts and the
        shared keys."""
        return MosaicModel(
            vit,
            routing,
            side=side,
            slot=self.slot if side is not None else None,
            adapter_input=cfg.adapter_input,
            prompts=prompts,
            vol_size=cfg.vol_size,
            patch_3d=cfg.patch_3d,
            method=self.name,
            tokenizer_3d_init=cfg.tokenizer_3d_init,
        )

    def trainable(self, name: str, model: MosaicModel, cfg: Config) -> bool:
        """Whether the tensor ``name`` trains: by default the side modules, prompts, heads and 3D
        tokenizer."""
        return name.startswith(ALWAYS_TRAINABLE + ("prompts.",)) or (
            self.slot is not None and f".{self.slot}." in name
        )

    def component(self, name: str) -> Optional[str]:
        """Which of this method's parts the tensor ``name`` is; None for parts every model has."""
        if self.slot is not None and f".{self.slot}." in name:
            return self.slot
        return "prompts" if name.startswith("prompts.") else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


METHODS: Dict[str, Method] = {}


def register_method(method: Method) -> Method:
    """Make ``method`` available as ``method=NAME``; its options become configuration keys."""
    if not method.name or method.name in METHODS:
        raise ValueError(f"Method name {method.name!r} is empty or already registered.")
    if method.options is not None:
        register_options(method.options)
    METHODS[method.name] = method
    return method


def unregister_method(name: str) -> None:
    """Remove a method (and its options, when no other method shares them)."""
    method = METHODS.pop(name)
    if method.options is not None and all(
        m.options is not method.options for m in METHODS.values()
    ):
        unregister_options(method.options)


def upgrade_names(
    method: str, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, str]
) -> Dict[str, torch.Tensor]:
    """Tensor names of a checkpoint in today's layout: files of format 1 (before
    ``checkpoint.FORMAT`` was stored) named every side module ``mos``; the method's
    ``legacy_renames`` map them."""
    if int(meta.get("format", 1)) >= 2:
        return dict(tensors)
    renames = get_method(method).legacy_renames
    out = {}
    for name, t in tensors.items():
        for old, new in renames:
            name = name.replace(old, new)
        out[name] = t
    return out


def upgrade_method(method: str, meta: Mapping[str, str]) -> str:
    """Today's name of the method that wrote a checkpoint: before format 3, ``gmoe`` was the
    one-backbone form, now ``gmoe-shared``."""
    return "gmoe-shared" if method == "gmoe" and int(meta.get("format", 1)) < 3 else method


def available_methods() -> List[str]:
    return list(METHODS)


def get_method(name: str) -> Method:
    if name not in METHODS:
        close = difflib.get_close_matches(name, METHODS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"Unknown method '{name}'.{hint} Available: {', '.join(METHODS)}.")
    return METHODS[name]
