"""Optimizers chosen by name and learning-rate schedules as pure functions of the step."""

from __future__ import annotations

import math

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
LR_SCHEDULES = ("constant", "cosine", "step", "linear")


def make_optimizer(name: str, params, learning_rate: float, **options):
    """A ``torch.optim`` optimizer by name.

    Parameters
    ----------
    name : {"adam", "adamw", "sgd", "rmsprop"}
    params : iterable of tensors or parameter-group dicts
    learning_rate : float
    **options
        Passed to the optimizer (``momentum`` for sgd/rmsprop, ``betas`` for adam/adamw,
        ``weight_decay``, ...). ``momentum=0`` is accepted (and dropped) everywhere.
    """
    import torch

    classes = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
               "sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop}
    if name not in classes:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
    if options.get("momentum", None) == 0:
        options.pop("momentum")
    if "momentum" in options and name not in ("sgd", "rmsprop"):
        raise ValueError(f"momentum applies to optimizer 'sgd' or 'rmsprop', not {name!r} "
                         "(adam uses betas)")
    return classes[name](params, lr=learning_rate, **options)


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """Multiplier of the initial learning rate at ``step`` (0-based) of ``total_steps``.

    A pure function of the step instead of a ``torch.optim.lr_scheduler`` object, so that
    resuming from a checkpoint needs no scheduler state: the step counter is enough.

    ``"constant"``: 1. ``"cosine"``: half a cosine from 1 to 0. ``"linear"``: straight line
    from 1 to 0. ``"step"``: ×0.1 after 50 % and again after 75 % of the steps.
    """
    progress = min(step / max(total_steps, 1), 1.0)
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "linear":
        return 1.0 - progress
    if schedule == "step":
        return 0.1 ** ((progress >= 0.5) + (progress >= 0.75))
    raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {schedule!r}")
