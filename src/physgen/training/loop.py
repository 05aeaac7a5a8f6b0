"""The training loop: one readable function of a model's hooks.

``Trainer(model, x, y, ...).run()`` is what ``GenerativeModel.fit`` calls. Per epoch it
shuffles with its own seeded generator, walks the mini-batches, sets the learning rate from
the schedule, calls ``model._train_step``, guards against non-finite values, averages the
logged values into one history record, runs the callbacks and writes checkpoints.
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np

from physgen.errors import CheckpointError, NonFiniteError
from physgen.training import checkpoint as ckpt
from physgen.training.callbacks import Checkpoint
from physgen.training.optim import lr_factor


_CHUNK_BYTES = 2 ** 22   # data rows gathered at once per epoch (bounds the extra memory)
_NUMPY_SUM_MAX = 2 ** 14  # parameters up to this size are summed by NumPy (cheaper calls)


class Trainer:
    """The state of one ``fit``: the model, its data, counters and callbacks.

    Attributes read by callbacks: ``model``, ``history`` (the model's ``history_``),
    ``epoch`` (epochs completed), ``step`` (optimizer steps taken), ``stop``,
    ``checkpoint_dir``.
    """

    def __init__(self, model, x, y=None, *, shuffle_generator, checkpoint_dir=None,
                 callbacks=()):
        import torch

        self.model, self.x, self.y = model, x, y
        self.shuffle_generator = shuffle_generator
        self.checkpoint_dir = checkpoint_dir
        self.callbacks = list(callbacks)
        if checkpoint_dir is not None and not any(isinstance(c, Checkpoint)
                                                  for c in self.callbacks):
            self.callbacks.append(Checkpoint(every_n_epochs=1, keep_last=2))
        self.history = model.history_
        self.epoch, self.step, self.stop = 0, 0, False
        # looked up once, not at every step (restoring a snapshot copies into these tensors)
        self._parameters = list(model.module_.named_parameters())
        self._on_cpu = all(p.device.type == "cpu" for _, p in self._parameters)
        # on the CPU, small parameters are summed through NumPy views (sharing their memory,
        # so they see every in-place update: optimizer steps, load_state_dict, restored
        # snapshots) at half the per-call cost of a tensor sum and .item(); large ones by
        # torch, whose vectorised sum is twice as fast as NumPy's there
        self._cpu_views = None
        if self._on_cpu and all(p.dtype in (torch.float32, torch.float64)
                                for _, p in self._parameters):
            self._cpu_views = [p.detach().numpy() for _, p in self._parameters
                               if p.numel() <= _NUMPY_SUM_MAX]
            self._cpu_large = [p.detach() for _, p in self._parameters
                               if p.numel() > _NUMPY_SUM_MAX]
        self.steps_per_epoch = -(-len(x) // model.batch_size)
        # rows gathered per index_select: whole batches, about _CHUNK_BYTES of data
        batch_bytes = model.batch_size * max(x[0].numel() * x.element_size(), 1)
        self._rows_per_chunk = model.batch_size * max(1, _CHUNK_BYTES // batch_bytes)
        for optimizer in model.optimizers_.values():
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])

    # --- the loop ------------------------------------------------------------------------

    def run(self) -> None:
        import torch
        from tqdm.auto import tqdm

        model, n = self.model, len(self.x)
        total_steps = model.epochs * self.steps_per_epoch
        skip = model.on_nonfinite == "skip"
        for callback in self.callbacks:
            callback.on_fit_start(self)
        bar = tqdm(total=model.epochs, initial=self.epoch, disable=None, unit="epoch",
                   desc=type(model).__name__, leave=False)
        while self.epoch < model.epochs and not self.stop:
            started = time.perf_counter()
            sums: dict = {}
            n_logged = n_skipped = 0
            order = torch.randperm(n, generator=self.shuffle_generator).to(self.x.device)
            chunk = self._rows_per_chunk
            for start in range(0, n, model.batch_size):
                # the rows of several batches are gathered at once and each batch is a view
                # of them (the same rows as before): a gather per batch cost as much as a
                # small model's step spends on arithmetic; index_select: the same rows as
                # x[index] at half the per-call cost
                offset = start % chunk
                if offset == 0:
                    index = order[start:start + chunk]
                    x_rows = self.x.index_select(0, index)
                    y_rows = None if self.y is None else self.y.index_select(0, index)
                x = x_rows[offset:offset + model.batch_size]
                y = None if y_rows is None else y_rows[offset:offset + model.batch_size]
                factor = lr_factor(model.lr_schedule, self.step, total_steps)
                for optimizer in model.optimizers_.values():
                    for group in optimizer.param_groups:
                        group["lr"] = group["initial_lr"] * factor
                saved = model._snapshot() if skip else None
                logs = model._train_step(x, y, self.step)
                bad = self._nonfinite(logs)
                if bad is None:
                    for key, value in logs.items():
                        sums[key] = sums.get(key, 0.0) + float(value)
                    n_logged += 1
                elif skip:
                    model._restore(saved)
                    n_skipped += 1
                else:
                    raise NonFiniteError(
                        f"{type(model).__name__}: {bad} became NaN or infinite at epoch "
                        f"{self.epoch + 1}, step {self.step} (global); lower the learning "
                        f"rate, or pass on_nonfinite='skip' to skip such steps")
                self.step += 1
            record = {"epoch": self.epoch + 1}
            record.update({key: value / n_logged for key, value in sums.items()})
            record["lr"] = model.learning_rate * lr_factor(model.lr_schedule, self.step - 1,
                                                           total_steps)
            record.update({key: float(value)
                           for key, value in model._end_of_epoch(self.x, self.y).items()})
            if skip:
                record["skipped_steps"] = n_skipped
            record["time"] = time.perf_counter() - started
            self.history.append(record)
            self.epoch += 1
            bar.update(1)
            if not bar.disable:   # formatting the postfix costs even when nothing is shown
                bar.set_postfix({k: v for k, v in record.items() if k not in ("epoch", "time")},
                                refresh=False)
            for callback in self.callbacks:
                callback.on_epoch_end(self)
        bar.close()
        if self.checkpoint_dir is not None and self.epoch > 0:
            last = ckpt.latest_checkpoint(self.checkpoint_dir)
            if last is None or _manifest_epoch(last) != self.epoch:
                self.save_checkpoint(keep_last=None)

    def _nonfinite(self, logs) -> str | None:
        """The name of the first non-finite logged value or parameter, or None."""
        import torch

        for key, value in logs.items():
            if not np.isfinite(float(value)):
                return f"logged value {key!r}"
        params = self._parameters
        # fast path: a sum is finite when every term is (isfinite().all() costs ~100x more);
        # on the CPU the per-tensor sums are added as Python floats (no tensor additions)
        if self._cpu_views is not None:
            total = sum([float(np.add.reduce(view, None)) for view in self._cpu_views]) + sum(
                [p.sum().item() for p in self._cpu_large])
        elif self._on_cpu:
            total = sum(p.detach().sum().item() for _, p in params)
        else:
            total = float(sum(p.detach().sum() for _, p in params))
        if math.isfinite(total):
            return None
        for name, p in params:
            if not bool(torch.isfinite(p).all()):
                return f"parameter {name!r}"
        return "sum of the parameters (overflow)"

    # --- checkpoints ---------------------------------------------------------------------

    def training_state(self) -> tuple[dict, dict]:
        """Tensors and JSON that, with the model's weights, resume this fit exactly."""
        model = self.model
        tensors, meta = {}, {"epoch": self.epoch, "step": self.step, "optimizers": {}}
        for name, optimizer in model.optimizers_.items():
            opt_tensors, opt_meta = ckpt.optimizer_to_tensors(name, optimizer)
            tensors.update(opt_tensors)
            meta["optimizers"][name] = opt_meta
        tensors["rng/shuffle"] = self.shuffle_generator.get_state()
        tensors["rng/model"] = model.generator_.get_state()
        tensors["rng/numpy"] = ckpt.numpy_rng_to_tensor(model.rng_)
        for key, value in model._get_training_state().items():
            tensors[f"family/{key}"] = value
        return tensors, meta

    def run_files(self) -> ckpt.RunFiles:
        tensors, meta = self.training_state()
        files = self.model._run_files()
        files.training, files.training_meta = tensors, meta
        return files

    def save_checkpoint(self, keep_last: int | None = 2):
        """Write ``checkpoint_dir/checkpoint-{epoch:06d}`` (complete, resumable)."""
        if self.checkpoint_dir is None:
            raise ValueError("save_checkpoint needs fit(..., checkpoint_dir=DIR)")
        return ckpt.write_checkpoint(self.checkpoint_dir, self.run_files(), self.epoch, keep_last)

    def restore(self, files: ckpt.RunFiles) -> None:
        """Continue from a checkpoint: weights, optimizers, RNG states, counters, history."""
        model = self.model
        mine, theirs = model._run_files().config, files.config
        for key in ("class", "fitted"):
            if mine[key] != theirs[key]:
                raise CheckpointError(
                    f"{files.path}: checkpoint does not match this model and data ({key}: "
                    f"checkpoint {theirs[key]}, now {mine[key]})")
        model.module_.load_state_dict({k: v.to(model.device_) for k, v in files.model.items()})
        tensors, meta = files.training, files.training_meta
        for name, optimizer in model.optimizers_.items():
            ckpt.optimizer_from_tensors(name, optimizer, tensors, meta["optimizers"][name])
        self.shuffle_generator.set_state(tensors["rng/shuffle"])
        model.generator_.set_state(tensors["rng/model"])
        ckpt.numpy_rng_from_tensor(model.rng_, tensors["rng/numpy"])
        model._set_training_state({k[len("family/"):]: v.to(model.device_)
                                   for k, v in tensors.items() if k.startswith("family/")})
        self.history[:] = files.history
        self.epoch, self.step = meta["epoch"], meta["step"]


def _manifest_epoch(path) -> int | None:
    import json

    return json.loads((path / ckpt.MANIFEST).read_text()).get("epoch")


def snapshot_state(model) -> dict:
    """Copies of everything a training step changes (used by ``on_nonfinite='skip'``)."""
    return {"module": copy.deepcopy(model.module_.state_dict()),
            "optimizers": {k: copy.deepcopy(o.state_dict()) for k, o in model.optimizers_.items()},
            "family": {k: v.clone() for k, v in model._get_training_state().items()}}


def restore_state(model, saved: dict) -> None:
    model.module_.load_state_dict(saved["module"])
    for name, optimizer in model.optimizers_.items():
        optimizer.load_state_dict(saved["optimizers"][name])
    model._set_training_state(saved["family"])
