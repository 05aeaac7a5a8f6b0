"""Callbacks: small objects whose ``on_epoch_end(trainer)`` runs after every epoch.

A callback reads ``trainer.model``, ``trainer.history`` (the model's ``history_``),
``trainer.epoch`` (epochs completed) and ``trainer.step``; it may set ``trainer.stop = True``
or call ``trainer.save_checkpoint()``. Callbacks keep no state that resuming would need:
:class:`EarlyStopping` re-reads the history, so it behaves the same after a resume.
"""

from __future__ import annotations

import math


class Callback:
    """Base class; override :meth:`on_epoch_end` (and :meth:`on_fit_start` if needed)."""

    def on_fit_start(self, trainer) -> None:
        """Runs once before the first epoch (after a resume has been restored)."""

    def on_epoch_end(self, trainer) -> None:
        """Runs after each epoch's history record has been appended."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        A key of the history records (e.g. ``"loss"``, ``"pseudo_log_likelihood"``).
    patience : int
    mode : {"min", "max"}
    min_delta : float
    """

    def __init__(self, monitor: str = "loss", patience: int = 5, mode: str = "min",
                 min_delta: float = 0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping mode must be 'min' or 'max', got {mode!r}")
        if patience < 1:
            raise ValueError(f"EarlyStopping patience must be >= 1, got {patience}")
        self.monitor, self.patience, self.mode, self.min_delta = monitor, patience, mode, min_delta
        self.stopped_epoch = None

    def on_epoch_end(self, trainer) -> None:
        history = trainer.history
        if self.monitor not in history[-1]:
            raise ValueError(f"EarlyStopping: {self.monitor!r} is not logged; logged values: "
                             f"{', '.join(sorted(history[-1]))}")
        sign = 1.0 if self.mode == "min" else -1.0
        best, best_epoch = math.inf, 0
        for index, record in enumerate(history):
            value = sign * record[self.monitor]
            if value < best - self.min_delta:
                best, best_epoch = value, index
        if len(history) - 1 - best_epoch >= self.patience:
            trainer.stop = True
            self.stopped_epoch = trainer.epoch


class Checkpoint(Callback):
    """Write a resumable checkpoint every ``every_n_epochs`` epochs into the fit's
    ``checkpoint_dir`` (as ``checkpoint-NNNNNN/``), keeping the newest ``keep_last``."""

    def __init__(self, every_n_epochs: int = 1, keep_last: int | None = 2):
        if every_n_epochs < 1:
            raise ValueError(f"Checkpoint every_n_epochs must be >= 1, got {every_n_epochs}")
        if keep_last is not None and keep_last < 1:
            raise ValueError(f"Checkpoint keep_last must be >= 1 or None, got {keep_last}")
        self.every_n_epochs, self.keep_last = every_n_epochs, keep_last

    def on_fit_start(self, trainer) -> None:
        if trainer.checkpoint_dir is None:
            raise ValueError("the Checkpoint callback needs fit(..., checkpoint_dir=DIR)")

    def on_epoch_end(self, trainer) -> None:
        if trainer.epoch % self.every_n_epochs == 0:
            trainer.save_checkpoint(keep_last=self.keep_last)


class SampleSnapshot(Callback):
    """Draw ``n_samples`` with a fixed ``seed`` every ``every_n_epochs`` epochs.

    Attributes
    ----------
    samples : list of (int, np.ndarray)
        ``(epoch, samples)`` pairs; samples as returned by ``model.sample``.
    """

    def __init__(self, every_n_epochs: int = 1, n_samples: int = 16, seed: int = 0):
        if every_n_epochs < 1:
            raise ValueError(f"SampleSnapshot every_n_epochs must be >= 1, got {every_n_epochs}")
        self.every_n_epochs, self.n_samples, self.seed = every_n_epochs, n_samples, seed
        self.samples: list = []

    def on_epoch_end(self, trainer) -> None:
        if trainer.epoch % self.every_n_epochs == 0:
            # sample() draws from its own seeded generator: training randomness is untouched
            self.samples.append((trainer.epoch, trainer.model.sample(self.n_samples,
                                                                     seed=self.seed)))


class DiscriminatorEquilibrium(Callback):
    """Stop when D stays near 1/2: ``|d_real - 1/2| <= tolerance`` and
    ``|d_fake - 1/2| <= tolerance`` in each of the last ``patience`` epochs.

    At the equilibrium of the game p_g = p_r and D* = 1/2 everywhere, so a discriminator
    that can no longer tell the two apart is a natural end of training. Stateless (it
    re-reads the history), so it behaves the same after a resume.
    """

    def __init__(self, tolerance: float = 0.05, patience: int = 5):
        if not 0 < tolerance < 0.5:
            raise ValueError(f"tolerance must be in (0, 0.5), got {tolerance!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be a positive integer, got {patience!r}")
        self.tolerance, self.patience = tolerance, patience
        self.stopped_epoch = None

    def on_epoch_end(self, trainer) -> None:
        recent = trainer.history[-self.patience:]
        if len(recent) < self.patience:
            return
        if all(abs(r["d_real"] - 0.5) <= self.tolerance and abs(r["d_fake"] - 0.5)
               <= self.tolerance for r in recent):
            trainer.stop = True
            self.stopped_epoch = trainer.epoch
