"""Single-adapter baselines: one AdaptFormer adapter shared by every dataset, or one per dataset."""

from __future__ import annotations

from typing import List, Optional

from timm.models.vision_transformer import VisionTransformer

from ..config import Config
from ..config.method_keys import AdapterOptions
from ..models.adapter import Adapter, MixtureOfSpecialists
from ..models.mosaic import MosaicModel
from .base import Method, constant_routing

__all__ = ["AdapterOptions", "SharedAdapter", "PerDatasetAdapters"]


class SharedAdapter(Method):
    """The joint baseline: MOSAIC's insertion point and scale, one adapter for all datasets."""

    name, summary = "adapter", "one adapter shared by all datasets (joint baseline)"
    options, slot = AdapterOptions, "adapter"
    legacy_renames = ((".mos.specialists.shared.", ".adapter."),)

    def build(self, cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
        width = cfg.options(AdapterOptions).adapter_bottleneck
        return self.make_model(
            cfg,
            vit,
            constant_routing(datasets, "shared"),
            side=lambda dim: Adapter(dim, width, cfg.adapter_scale),
        )


class PerDatasetAdapters(Method):
    """Hard routing with one adapter per dataset (a specialist named after it), all in one model."""

    name, summary, options, slot = (
        "adapter-dataset",
        "one adapter per dataset",
        AdapterOptions,
        "adapters",
    )
    legacy_renames = ((".mos.", ".adapters."),)

    def build(self, cfg: Config, vit: VisionTransformer, datasets: List[str]) -> MosaicModel:
        opts = cfg.options(AdapterOptions)
        unknown = sorted(set(opts.adapter_widths) - set(datasets))
        if unknown:
            raise ValueError(
                f"adapter_widths names {', '.join(unknown)}, not among this run's datasets "
                f"({', '.join(datasets)}); give one width per dataset the run trains"
            )
        widths = {d: opts.adapter_widths.get(d, opts.adapter_bottleneck) for d in datasets}
        return self.make_model(
            cfg,
            vit,
            {d: d for d in datasets},
            side=lambda dim: MixtureOfSpecialists(dim, widths, cfg.adapter_scale),
        )

    def component(self, name: str) -> Optional[str]:
        marker = f".{self.slot}.specialists."
        if marker in name:
            return "adapter_" + name.split(marker, 1)[1].split(".", 1)[0]
        return super().component(name)
