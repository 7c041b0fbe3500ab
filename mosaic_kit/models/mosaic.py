"""MOSAIC: a frozen ViT, a modality-aware tokenizer, MoS adapters in every block, one head per
dataset."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Callable, Dict, List, Mapping, Optional, Set, Tuple

import torch
import torch.nn as nn
from timm.models.vision_transformer import VisionTransformer

from ..data.registry import get_info
from .assembly import (
    freeze_and_wrap,
    run_blocks,
    tokenize_with,
    volume_tokenizer,
)

__all__ = [
    "MosaicModel",
    "BARE",
    "frozen_shared_copy",
    "freeze_and_wrap",
    "volume_tokenizer",
    "tokenize_with",
    "run_blocks",
]

#: Specialist name that runs no adapter: the frozen backbone under the dataset's head.
BARE = "none"


class MosaicModel(nn.Module):
    """Generalist classifier over many MedMNIST datasets: a frozen ViT, a modality-aware tokenizer,
    one head per dataset, and whatever a parameter-efficient method adds.

    Every batch names its dataset; the routing table binds the dataset to a specialist name that
    is passed to each block's side module (MOSAIC's hard-routed ``MixtureOfSpecialists``; other
    methods ignore it). 3D volumes go through the trainable ``VolumeTokenizer``, 2D images
    through the backbone's patch embedding. The model knows no method: a method
    (``mosaic_kit.methods``) builds it with its side modules or prompts and sets
    ``requires_grad`` on the tensors that train.
    """

    def __init__(
        self,
        vit: VisionTransformer,
        routing: Mapping[str, str],
        *,
        side: Optional[Callable[[int], nn.Module]] = None,
        slot: Optional[str] = None,
        adapter_input: str = "residual",
        prompts: Optional[nn.Module] = None,
        vol_size: int = 64,
        patch_3d: int = 8,
        method: str = "",
        tokenizer_3d_init: str = "random",
    ) -> None:
        """
        Args:
            vit: A headless timm ViT (``num_classes=0``); it is frozen and its blocks are wrapped.
            routing: Dataset name -> specialist name, for every dataset the model serves.
            side: Factory ``dim -> module`` of the per-block side module, called as ``module(x,
                specialist)``; if the module has ``used_parameters(specialist)``, a batch uses only
                those of its tensors.
            slot: Attribute name of the side module in every block (``mos``, ``adapter``, ...).
            adapter_input: What the side modules read: ``"residual"`` or ``"norm"`` (see
                ``SideBlock``).
            prompts: Optional visual prompts (VPT) with ``run(blocks, x, specialist)``.
            vol_size: Side of the 3D input volumes.
            patch_3d: Kernel = stride of the 3D tokenizer.
            method: Name of the method that built the model (stored in checkpoints).
            tokenizer_3d_init: ``"random"``, or ``"inflate"`` / ``"acs"``: the 3D tokenizer
                starts from the backbone's 2D patch and position embedding (``models.inflate``).
        """
        super().__init__()
        self.routing = dict(routing)
        self.infos = {name: get_info(name) for name in routing}
        dim = vit.embed_dim
        self.vit = freeze_and_wrap(vit, side, slot, adapter_input)
        self.prompts = prompts
        has_3d = any(info.is_3d for info in self.infos.values())
        self.tokenizer_3d = (
            volume_tokenizer(vit, vol_size, patch_3d, tokenizer_3d_init) if has_3d else None
        )
        self.tokenizer_3d_init = tokenizer_3d_init
        self.heads = nn.ModuleDict(
            {name: nn.Linear(dim, info.n_classes) for name, info in self.infos.items()}
        )
        for head in self.heads.values():
            nn.init.trunc_normal_(head.weight, std=0.02)
            nn.init.zeros_(head.bias)
        self.embed_dim = dim
        self.method = method
        self.grad_checkpointing = False
        self.channels_last = False

    # -- parameters
    # -----------------------------------------------------------------------------------
    def no_weight_decay(self) -> Set[str]:
        """Parameter names AdamW must not decay (timm's convention): the backbone's own list
        (position embedding, CLS token) and the 3D position embedding."""
        names = {f"vit.{n}" for n in self.vit.no_weight_decay()}
        return names | ({"tokenizer_3d.pos_embed"} if self.tokenizer_3d is not None else set())

    def side_modules(self) -> List[Tuple[str, nn.Module]]:
        """``(parameter-name prefix, module)`` of every block's side module."""
        return [
            (f"vit.blocks.{i}.{blk.slot}.", blk.side)
            for i, blk in enumerate(self.vit.blocks)
            if blk.side is not None
        ]

    def active_parameter_names(self, dataset: str) -> List[str]:
        """Names of the trainable tensors a batch of ``dataset`` uses (and so may change): its
        head, its modality's tokenizer, the side-module tensors its specialist uses, and every
        other trainable tensor."""
        spec, is_3d = self.routing[dataset], self.infos[dataset].is_3d
        unused = set()
        for prefix, side in self.side_modules():
            if hasattr(side, "used_parameters"):
                used = set(side.used_parameters(spec))
                unused |= {prefix + n for n, _ in side.named_parameters() if n not in used}
        out = []
        for n, p in self.named_parameters():
            if not p.requires_grad or n in unused:
                continue
            if n.startswith("heads.") and not n.startswith(f"heads.{dataset}."):
                continue
            if ".tokenizer_3d." in f".{n}" and not is_3d:  # this model's, or a second backbone's
                continue
            if is_3d and n.startswith(("vit.patch_embed.", "vit.pos_embed")):
                continue
            out.append(n)
        return out

    # -- forward
    # --------------------------------------------------------------------------------------
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block's activations during backward instead of keeping them (timm's
        name)."""
        self.grad_checkpointing = enable

    def set_channels_last(self, enable: bool = True) -> None:
        """Channels-last memory format for the 2D and 3D patch embeddings and their inputs."""
        self.channels_last = enable
        self.vit.patch_embed.to(
            memory_format=torch.channels_last if enable else torch.contiguous_format
        )
        if self.tokenizer_3d is not None:
            self.tokenizer_3d.to(
                memory_format=torch.channels_last_3d if enable else torch.contiguous_format
            )

    def tokenize(self, x: torch.Tensor, is_3d: bool) -> torch.Tensor:
        return tokenize_with(self.vit, self.tokenizer_3d, x, is_3d, self.channels_last)

    def encode(self, x: torch.Tensor, specialist: Optional[str], is_3d: bool) -> torch.Tensor:
        """Final-norm token sequence with ``specialist``'s adapters active (None = bare
        backbone)."""
        x = self.tokenize(x, is_3d)
        if self.prompts is not None:
            x = self.prompts.run(self.vit.blocks, x, specialist)
        else:
            x = run_blocks(
                self.vit, x, specialist, self.grad_checkpointing and torch.is_grad_enabled()
            )
        return self.vit.norm(x)

    def resolve_specialist(self, dataset: str, specialist: Optional[str] = None) -> Optional[str]:
        """The specialist a batch runs through: the routed one (``None``), a forced one, or no
        adapter at all (``"none"``: the bare backbone, used to probe what the adapters change)."""
        if specialist is None:
            return self.routing[dataset]
        return None if specialist == BARE else specialist

    def forward_features(
        self, x: torch.Tensor, dataset: str, specialist: Optional[str] = None
    ) -> torch.Tensor:
        """CLS feature of a single-dataset batch; ``specialist`` overrides the routing (see
        ``resolve_specialist``)."""
        return self.encode(
            x, self.resolve_specialist(dataset, specialist), self.infos[dataset].is_3d
        )[:, 0]

    def forward(
        self,
        x: torch.Tensor,
        dataset: str,
        specialist: Optional[str] = None,
        return_features: bool = False,
    ) -> torch.Tensor | Tuple[torch.Tensor, torch.Tensor]:
        """Logits of a batch that comes from one dataset (``(CLS feature, logits)`` with
        ``return_features``); ``specialist`` overrides the routing (see ``resolve_specialist``)."""
        feats = self.forward_features(x, dataset, specialist)
        logits = self.heads[dataset](feats)
        return (feats, logits) if return_features else logits

    def forward_grouped(self, inputs: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Logits for a mixed batch given as {dataset: tensor}: one backbone pass per
        (specialist, modality, input shape) group, never all specialists on every sample."""
        groups: Dict[tuple, List[str]] = defaultdict(list)
        for name, x in inputs.items():
            groups[(self.routing[name], self.infos[name].is_3d, tuple(x.shape[1:]))].append(name)
        out: Dict[str, torch.Tensor] = {}
        for (spec, is_3d, _), names in groups.items():
            feats = self.encode(torch.cat([inputs[n] for n in names]), spec, is_3d)[:, 0]
            for name, f in zip(names, feats.split([inputs[n].shape[0] for n in names])):
                out[name] = self.heads[name](f)
        return out


def frozen_shared_copy(model: MosaicModel) -> MosaicModel:
    """An eval-mode copy of ``model`` with its own copies of the trainable tensors, all frozen,
    sharing the frozen backbone tensors (no second backbone in memory): the EMA teacher."""
    frozen = {id(p): p for p in model.parameters() if not p.requires_grad}
    copy_ = copy.deepcopy(model, memo=dict(frozen))
    return copy_.eval().requires_grad_(False)
