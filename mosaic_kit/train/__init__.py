"""Training: one run or a single-task sweep, the cyclic loop, its step, EMA teacher, checkpoints.

Modules: ``run`` (``train(cfg)``), the loop (``loop``, ``setup``, ``rounds``), one step
(``step``), its state (``state``), checkpoints (``saver``), stop signals (``signals``), the run log
(``log``), optimizer, schedule and losses (``optim``), the expert-aware EMA teacher (``ema``),
single-task sweeps (``independent``)."""

from .ema import ExpertEMA
from .run import train
from .signals import NonFiniteError, TrainingInterrupted
from .state import TrainState
from .step import StepResult, TrainStep

__all__ = [
    "ExpertEMA",
    "train",
    "TrainState",
    "TrainStep",
    "StepResult",
    "TrainingInterrupted",
    "NonFiniteError",
]
