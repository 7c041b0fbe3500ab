"""Model parts: adapters, the MoS block, the 3D tokenizer, the MOSAIC model and its factory."""
from .adapter import Adapter, MixtureOfSpecialists
from .backbone import create_backbone, load_backbone_weights, resolve_normalization
from .block import MosBlock
from .factory import build_model, parameter_report
from .mosaic import MosaicModel
from .tokenizer import VolumeTokenizer

__all__ = ["Adapter", "MixtureOfSpecialists", "MosBlock", "VolumeTokenizer", "MosaicModel", "create_backbone",
           "load_backbone_weights", "resolve_normalization", "build_model", "parameter_report"]
