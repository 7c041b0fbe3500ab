"""mosaic_kit: one frozen ViT for all 18 MedMNIST datasets through a Mixture-of-Specialists adapter (MOSAIC)."""
__version__ = "0.3.0"  # the one place the version is set (pyproject reads it)

from .config import Config, load_config  # noqa: E402
from .metrics import compute_metrics  # noqa: E402
from . import methods  # noqa: E402,F401  (registers every method and its configuration keys)

__all__ = ["Config", "load_config", "compute_metrics", "load", "__version__"]


def load(run_dir, checkpoint: str = "best", which: str = "student", device: str = "cpu", weights=None):
    """A trained run as a ``Predictor``: ``mosaic_kit.load("runs/demo").predict(images, dataset="breastmnist")``
    (see ``mosaic_kit.predict``)."""
    from .predict import load as _load

    return _load(run_dir, checkpoint, which, device, weights)
