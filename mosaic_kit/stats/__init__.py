"""Statistics of comparisons: the calibrated paired rule, verdicts, power, calibration.

The paired rule behind every verdict word (``paired``, on the samples of ``samples``), what a
comparison says (``verdicts``), its power (``power``), the semi-synthetic arms it is calibrated on
(``nulls``) and the calibration itself (``calibration``)."""

from .paired import (
    interval_of_mean,
    paired_difference,
    paired_differences,
)
from .power import MIN_SEEDS, POWER, minimal_detectable, seeds_needed
from .samples import Sample, identical_outputs
from .verdicts import VERDICTS, Comparison, Interval, holm

__all__ = [
    "Sample",
    "Comparison",
    "Interval",
    "paired_difference",
    "paired_differences",
    "interval_of_mean",
    "holm",
    "seeds_needed",
    "minimal_detectable",
    "identical_outputs",
    "MIN_SEEDS",
    "POWER",
    "VERDICTS",
]
