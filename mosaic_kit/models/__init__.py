"""Model parts that know no method: adapters, side blocks, 3D tokenizer, MOSAIC, weights.

Methods (``mosaic_kit.methods``) assemble them."""

from .adapter import Adapter, MixtureOfSpecialists
from .backbone import create_backbone, load_backbone_weights, resolve_normalization
from .mosaic import BARE, MosaicModel
from .parameters import frozen_fingerprint, parameter_report
from .side_block import SideBlock
from .tokenizer import VolumeTokenizer

__all__ = [
    "Adapter",
    "MixtureOfSpecialists",
    "SideBlock",
    "VolumeTokenizer",
    "MosaicModel",
    "BARE",
    "create_backbone",
    "load_backbone_weights",
    "resolve_normalization",
    "parameter_report",
    "frozen_fingerprint",
]
