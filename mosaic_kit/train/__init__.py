"""Training: the cyclic multi-task loop (``loop``), one step (``step``), its state (``state``), checkpoints
(``checkpointer``), stop signals (``signals``), the run log (``log``), optimizer / schedule / losses (``optim``),
the expert-aware EMA teacher (``ema``) and single-task sweeps (``independent``)."""
from .ema import ExpertEMA
from .loop import train
from .signals import NonFiniteError, TrainingInterrupted
from .state import TrainState
from .step import StepResult, TrainStep

__all__ = ["ExpertEMA", "train", "TrainState", "TrainStep", "StepResult", "TrainingInterrupted", "NonFiniteError"]
