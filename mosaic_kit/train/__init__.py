"""Training: cyclic multi-task loop, expert-aware EMA teacher, checkpoints."""
from .ema import ExpertEMA
from .trainer import evaluate_run, load_run, resolve_device, train

__all__ = ["ExpertEMA", "train", "evaluate_run", "load_run", "resolve_device"]
