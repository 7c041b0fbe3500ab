"""Single-adapter baselines: one AdaptFormer adapter shared by every dataset, or one per dataset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from timm.models.vision_transformer import VisionTransformer

from ..config import Config, Options, option
from ..models.adapter import Adapter, MixtureOfSpecialists
from ..models.mosaic import MosaicModel
from .base import Method, constant_routing

__all__ = ["AdapterOptions", "SharedAdapter", "PerDatasetAdapters"]


@dataclass
class AdapterOptions(Options):
    adapter_bottleneck: int = option(
        192, "bottleneck of method=adapter (one shared adapter) and adapter-dataset"
    )
    adapter_widths: Dict[str, int] = option(
        {},
        "adapter-dataset: a bottleneck per dataset, e.g. the width of the "
        "MOSAIC specialist it would be routed to; others use "
        "adapter_bottleneck",
    )

    def problems(self) -> List[str]:
        bad = [
            f"adapter_widths['{name}'] must be > 0 (got {w})"
            for name, w in self.adapter_widths.items()
            if w <= 0
        ]
        return self.check_positive("adapter_bottleneck") + bad


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
