"""Training: one loop, checkpoints (safetensors + JSON, atomic), callbacks, optimizers."""

from physgen.training.callbacks import Callback, Checkpoint, EarlyStopping, SampleSnapshot
from physgen.training.checkpoint import latest_checkpoint, read_run, write_run
from physgen.training.loop import Trainer
from physgen.training.optim import LR_SCHEDULES, OPTIMIZERS, lr_factor, make_optimizer

__all__ = ["Callback", "Checkpoint", "EarlyStopping", "SampleSnapshot", "Trainer",
           "latest_checkpoint", "read_run", "write_run", "LR_SCHEDULES", "OPTIMIZERS",
           "lr_factor", "make_optimizer"]
