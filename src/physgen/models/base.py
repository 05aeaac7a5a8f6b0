"""The ``GenerativeModel`` contract shared by every model family, and ``load``.

Users see
---------
``Model(**settings).fit(X, y=None, *, checkpoint_dir=None, resume=False, callbacks=())``
returns the model; ``sample(n_samples, y=None, seed=None)`` returns an array with the
domain (±1 spins, 0/1 bits or continuous), dtype and event shape of the ``X`` it was fitted
on; ``score_samples(X)`` (log-likelihood per sample, families with a likelihood only);
``save(path)`` / :func:`load`; ``history_`` (one dict per epoch); ``get_params`` /
``set_params``.

Settings (sklearn style)
------------------------
Every setting is a keyword argument of the family's ``__init__``, stored unchanged under
its own name (``self._store_settings(locals())`` does it); ``get_params()`` reads the
signature. Nothing is computed or validated in ``__init__``. Shared settings, by name:
``epochs, batch_size, learning_rate, optimizer ("adam" | "adamw" | "sgd" | "rmsprop"),
lr_schedule ("constant" | "cosine" | "linear" | "step"), seed, device ("cpu" | "cuda"),
on_nonfinite ("raise" | "skip")``. Settings must be JSON-able (they go to config.json).

What the base class does for a family
-------------------------------------
- validates ``X`` (numeric, rank >= 2, finite), infers ``domain_`` ("spins" when every value
  is ±1 with at least one -1, "bits" when every value is 0/1, else "continuous"), records
  ``event_shape_`` (``X.shape[1:]``), ``n_features_`` and ``dtype_``;
- hands the hooks FLAT float32 tensors ``(batch, n_features_)`` on ``device_``. Discrete data
  is presented as 0/1 when the class attribute ``discrete_as = "bits"`` (default) or as ±1
  when ``discrete_as = "spins"``; hooks reshape with ``self.event_shape_`` when they need to;
- seeds everything from ``seed``: ``_build`` gets its own torch generator; during training the
  family draws randomness ONLY from ``self.generator_`` (torch, on ``device_``) or
  ``self.rng_`` (numpy) -- both are checkpointed, which makes resumes bit-identical;
- creates the optimizers (``_configure_optimizers``), runs the loop
  (:class:`physgen.training.Trainer`: shuffling, learning-rate schedule, non-finite guard,
  history, callbacks, checkpoints), and saves / loads run directories;
- in ``sample`` maps the hook's output back: discrete values are thresholded (>= 0.5 for bits,
  >= 0 for spins) and cast to the fitted domain and dtype, then reshaped to the event shape;
- validates ``X`` at sample/score time (rank, event shape, finiteness, spin/bit values).

Hooks a family implements (``x``, ``y`` below are already validated tensors on ``device_``)
-----------------------------------------------------------------------------------------
Class attributes
    ``family`` (the command-line name, a key of ``physgen.models.FAMILIES``),
    ``discrete_as`` ("bits" or "spins"), ``conditional`` (True if fit/sample take ``y``),
    ``_fitted_json`` (names of extra JSON-able fitted attributes, e.g. ``("n_classes_",)``,
    saved in config.json and restored by ``load`` BEFORE ``_build`` is called).
``_build(self, n_features, generator)``                                     REQUIRED
    Create ``self.module_``: ONE ``torch.nn.Module`` holding every parameter and buffer that
    sampling needs (use an ``nn.ModuleDict`` for generator + discriminator; register EMA
    weights as a sub-module or buffers). Initialise it from ``generator`` (a CPU torch
    Generator). Called at fit and by ``load`` (then overwritten by the saved weights), so it
    must depend only on settings, ``n_features`` and the ``_fitted_json`` attributes.
    The base class moves the module to ``device_`` afterwards.
``_configure_optimizers(self) -> dict[str, torch.optim.Optimizer]``         optional
    Default: ``{"model": self._make_optimizer(self.module_.parameters())}``. A GAN returns
    ``{"generator": ..., "discriminator": ...}`` built with ``self._make_optimizer(params,
    learning_rate=..., betas=...)``. The loop applies the lr schedule to every group of
    every optimizer, and checkpoints all of them.
``_start_training(self, x, y)``                                            optional
    Called once per fresh fit after the optimizers exist: initialise training-only state
    (persistent chains, replay buffer) from ``x`` and ``self.generator_``. On resume it runs
    too, then the saved state overwrites it.
``_train_step(self, x, y, step) -> dict[str, float | 0-d Tensor]``          REQUIRED
    One optimisation step on a mini-batch: zero grads, compute, ``backward``, ``opt.step()``
    on ``self.optimizers_[name]`` (or set ``.grad`` by hand under ``torch.no_grad``). ``step``
    is the global step counter (use ``step % n_critic`` for alternating updates). Return the
    values to log; the loop averages them per epoch into ``history_`` and raises
    ``NonFiniteError`` (or, with ``on_nonfinite="skip"``, undoes the step) if any of them
    or any parameter is NaN/inf.
``_end_of_epoch(self, x, y) -> dict[str, float]``                           optional
    Extra monitoring values for the epoch's history record (e.g. pseudo-likelihood).
``_get_training_state(self) -> dict[str, Tensor]`` and
``_set_training_state(self, tensors)``                                      optional
    Training-only tensors to checkpoint (persistent chains, replay buffer); not needed for
    sampling. Default: none.
``_sample(self, n, y, generator, **options) -> Tensor (n, n_features)``     REQUIRED
    Draw ``n`` samples using ONLY ``generator`` (a torch Generator on ``device_`` seeded
    from ``sample``'s ``seed``); return values in the internal representation (probabilities
    or values for discrete data are fine: the base class thresholds them). The module is in
    eval mode; wrap in ``torch.no_grad()`` yourself unless you need gradients (Langevin).
    Families with sampler options (``steps``, ``burn_in``, ...) override ``sample`` with an
    explicit keyword-only signature and call ``super().sample(n_samples, y, seed, **opts)``
    (the CLI passes ``--steps`` only to a ``sample`` that names ``steps`` or ``burn_in``).
``_log_prob(self, x, y) -> Tensor (n,)``                                    optional
    Log-likelihood of each row (of the internal representation); defining it enables
    ``score_samples``.
``_encode_y(self, y, n_samples, fitting) -> Tensor | None``                 optional
    Conditional families validate and convert labels (and, when ``fitting``, record e.g.
    ``n_classes_``). Default: ``y`` must be None unless ``conditional``; conditional
    default converts integer labels to int64 and anything else to float32 ``(n, d)``.

Helpers for families: ``self._make_optimizer(params, learning_rate=None, **options)``,
``self.device_``, ``self.generator_``, ``self.rng_``, ``self.optimizers_``,
``self.n_features_``, ``self.event_shape_``, ``self.domain_``.
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

import numpy as np

from physgen.errors import CheckpointError, PhysgenError

DOMAINS = ("spins", "bits", "continuous")


def infer_domain(x: np.ndarray) -> str:
    """"bits" if every value is 0 or 1, "spins" if every value is ±1, else "continuous"."""
    if x.dtype == np.bool_ or np.all((x == 0) | (x == 1)):
        return "bits"
    if np.all((x == 1) | (x == -1)):
        return "spins"
    return "continuous"


def _as_numeric_array(X, what: str = "X") -> np.ndarray:
    x = np.asarray(X)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_) \
            or np.iscomplexobj(x):
        raise ValueError(f"{what} must be a real numeric array, got dtype {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{what} must have shape (n_samples, n_features) or (n_samples, "
                         f"*event_shape), got a {x.ndim}-D array of shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{what} holds no samples (shape {x.shape})")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return x


def resolve_device(device: str):
    """``"cpu"`` or ``"cuda"`` / ``"cuda:N"`` when available; anything else is an error."""
    import torch

    if not isinstance(device, str) or not (device == "cpu" or device.startswith("cuda")):
        raise ValueError(f"device must be 'cpu' or 'cuda' (or 'cuda:N'), got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available; "
                         "use device='cpu'")
    return torch.device(device)


class GenerativeModel:
    """Base class of every model family; see the module docstring for the hook contract."""

    family: str = ""
    discrete_as: str = "bits"
    conditional: bool = False
    _fitted_json: tuple = ()

    def __init__(self, *, epochs=10, batch_size=64, learning_rate=1e-3, optimizer="adam",
                 lr_schedule="constant", seed=None, device="cpu", on_nonfinite="raise"):
        self._store_settings(locals())

    # --- settings ------------------------------------------------------------------------

    @classmethod
    def setting_defaults(cls) -> dict:
        """Setting name -> default, from the ``__init__`` signature (a ``**settings``
        catch-all in a subclass adds the parent's settings)."""
        defaults: dict = {}
        for klass in cls.__mro__:
            if "__init__" not in vars(klass):
                continue
            parameters = inspect.signature(klass.__init__).parameters.values()
            for p in parameters:
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                    defaults.setdefault(p.name, p.default)
            if not any(p.kind == p.VAR_KEYWORD for p in parameters):
                break
        return defaults

    @classmethod
    def _setting_names(cls) -> list[str]:
        return list(cls.setting_defaults())

    def _store_settings(self, values: dict) -> None:
        """Store every ``__init__`` argument unchanged (call as ``_store_settings(locals())``).

        Only names of the signature are stored, so a subclass may call ``super().__init__``
        for the settings it shares and store its own ones itself.
        """
        names = set(self._setting_names())
        for name, value in values.items():
            if name in names:
                setattr(self, name, value)

    def get_params(self, deep: bool = False) -> dict:
        """The settings, by name, as passed to the constructor."""
        return {name: getattr(self, name) for name in self._setting_names()}

    def set_params(self, **params):
        """Change settings (by name); returns self."""
        valid = self._setting_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__} has no setting {name!r}; valid "
                                 f"settings: {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = self.setting_defaults()
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults.get(k)]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _require_positive_int(self, *names: str, allow_none: bool = False) -> None:
        """ValueError unless each named setting is a positive int (or None if allowed)."""
        for name in names:
            value = getattr(self, name)
            if value is None and allow_none:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer"
                                 f"{' or None' if allow_none else ''}, got {value!r}")

    def _require_number(self, name: str, low, high=None, *, low_open: bool = False,
                        high_open: bool = True, allow_none: bool = False) -> None:
        """ValueError unless the named setting is a real number (not a bool, not NaN) from
        ``low`` to ``high`` (None: unbounded), the interval open or closed at either end."""
        value = getattr(self, name)
        if value is None and allow_none:
            return
        if high is None:
            where = f"{'>' if low_open else '>='} {low}"
        else:
            where = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)) \
                or not (value > low if low_open else value >= low) \
                or not (high is None or (value < high if high_open else value <= high)):
            raise ValueError(f"{name} must be a number {where}"
                             f"{' or None' if allow_none else ''}, got {value!r}")

    def _require_choice(self, name: str, choices) -> None:
        """ValueError unless the named setting is one of ``choices``."""
        if getattr(self, name) not in choices:
            raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, got "
                             f"{getattr(self, name)!r}")

    def _check_settings(self) -> None:
        """Validate the shared settings (families extend this for their own)."""
        from physgen.training.optim import LR_SCHEDULES, OPTIMIZERS

        self._require_positive_int("epochs", "batch_size")
        if isinstance(self.learning_rate, bool) or not isinstance(
                self.learning_rate, (int, float)) or not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be a positive number, got "
                             f"{self.learning_rate!r}")
        self._require_choice("optimizer", OPTIMIZERS)
        self._require_choice("lr_schedule", LR_SCHEDULES)
        self._require_choice("on_nonfinite", ("raise", "skip"))
        resolve_device(self.device)

    # --- fitting -------------------------------------------------------------------------

    def fit(self, X, y=None, *, checkpoint_dir=None, resume: bool = False, callbacks=()):
        """Fit to ``X`` (shape ``(n_samples, *event_shape)``); returns self.

        Parameters
        ----------
        X : array-like, shape (n_samples, *event_shape)
            ±1 spins, 0/1 bits or continuous values; never modified.
        y : array-like, shape (n_samples,) or (n_samples, d), optional
            Labels, for conditional families only.
        checkpoint_dir : path, optional
            Write resumable checkpoints there (every epoch unless a
            :class:`physgen.training.Checkpoint` callback says otherwise, and at the end).
        resume : bool
            Continue from the newest complete checkpoint in ``checkpoint_dir`` (from scratch
            when there is none). The result is bit-identical to an uninterrupted fit.
        callbacks : sequence of physgen.training.Callback
        """
        from physgen.random import spawn, torch_generator
        from physgen.training import checkpoint as ckpt
        from physgen.training.loop import Trainer

        self._check_settings()
        x = _as_numeric_array(X)
        self.domain_ = infer_domain(x)
        self.event_shape_ = tuple(int(s) for s in x.shape[1:])
        self.n_features_ = int(math.prod(self.event_shape_))
        self.dtype_ = str(x.dtype if self.domain_ != "continuous" or x.dtype.kind == "f"
                          else np.dtype(np.float32))
        self.device_ = resolve_device(self.device)
        y_tensor = self._encode_y(y, len(x), fitting=True)
        x_tensor = self._to_internal(x)

        init_rng, shuffle_rng, model_rng, numpy_rng = spawn(self.seed, 4)
        self.rng_ = numpy_rng
        self.generator_ = torch_generator(model_rng, device=self.device_)
        self._build(self.n_features_, torch_generator(init_rng))
        self.module_.to(self.device_)
        self.optimizers_ = self._configure_optimizers()
        self.history_ = []
        self._start_training(x_tensor, y_tensor)
        trainer = Trainer(self, x_tensor, y_tensor, shuffle_generator=torch_generator(shuffle_rng),
                          checkpoint_dir=checkpoint_dir, callbacks=callbacks)
        if resume:
            if checkpoint_dir is None:
                raise ValueError("resume=True needs checkpoint_dir")
            latest = ckpt.latest_checkpoint(checkpoint_dir)
            if latest is not None:
                trainer.restore(ckpt.read_run(latest, training=True))
        self.module_.train()
        trainer.run()
        trainer.x = trainer.y = None   # keeps what save() needs for resuming, not the data
        self._trainer = trainer
        return self

    def _make_optimizer(self, params, learning_rate=None, **options):
        """A ``torch.optim`` optimizer named by the ``optimizer`` setting."""
        from physgen.training.optim import make_optimizer

        return make_optimizer(self.optimizer, params,
                              self.learning_rate if learning_rate is None else learning_rate,
                              **options)

    # --- default hooks -------------------------------------------------------------------

    def _build(self, n_features: int, generator) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _build")

    def _configure_optimizers(self) -> dict:
        return {"model": self._make_optimizer(self.module_.parameters())}

    def _start_training(self, x, y) -> None:
        pass

    def _train_step(self, x, y, step: int) -> dict:
        raise NotImplementedError(f"{type(self).__name__} must implement _train_step")

    def _end_of_epoch(self, x, y) -> dict:
        return {}

    def _get_training_state(self) -> dict:
        return {}

    def _set_training_state(self, tensors: dict) -> None:
        pass

    def _sample(self, n: int, y, generator, **options):
        raise NotImplementedError(f"{type(self).__name__} must implement _sample")

    def _log_prob(self, x, y):
        raise NotImplementedError

    def _encode_y(self, y, n_samples: int, fitting: bool):
        import torch

        if y is None:
            if self.conditional and not fitting:
                raise ValueError(f"{type(self).__name__} is conditional: pass y (labels) to "
                                 "sample")
            return None
        if not self.conditional:
            raise ValueError(f"{type(self).__name__} is not conditional; y must be None")
        labels = np.asarray(y)
        if labels.ndim == 0:
            labels = np.full(n_samples, labels)
        if len(labels) != n_samples:
            raise ValueError(f"y must have one label per sample ({n_samples}), got {len(labels)}")
        if not np.issubdtype(labels.dtype, np.number) or not np.isfinite(labels).all():
            raise ValueError("y must hold finite numbers")
        if np.issubdtype(labels.dtype, np.integer):
            return torch.as_tensor(labels, dtype=torch.int64, device=self.device_)
        return torch.as_tensor(labels.reshape(n_samples, -1), dtype=torch.float32,
                               device=self.device_)

    # --- conversions and validation -------------------------------------------------------

    def _to_internal(self, x: np.ndarray):
        """Flat float32 tensor on ``device_`` in the family's representation."""
        import torch

        flat = torch.as_tensor(np.asarray(x, dtype=np.float32).reshape(len(x), -1),
                               device=self.device_)
        # one new tensor, then in place (the float32 input may share memory with x): NumPy's
        # 2 * x - 1 made two full-size temporaries, which cost a small model's epoch
        if self.domain_ == "spins" and self.discrete_as == "bits":
            flat = flat.add(1).mul_(0.5)
        elif self.domain_ == "bits" and self.discrete_as == "spins":
            flat = flat.mul(2).sub_(1)
        return flat

    def _from_internal(self, values) -> np.ndarray:
        """Family output (n, n_features) -> array in the fitted domain, dtype and shape."""
        import torch

        out = values.detach().to("cpu", torch.float32).numpy()
        if self.domain_ != "continuous":
            on = out >= (0.5 if self.discrete_as == "bits" else 0.0)
            out = on * 2 - 1 if self.domain_ == "spins" else on
        return np.ascontiguousarray(out.reshape((len(out), *self.event_shape_))
                                    .astype(self.dtype_))

    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise PhysgenError(f"this {type(self).__name__} is not fitted yet; call fit(X) "
                               "or physgen.load(path) first")

    def _check_X(self, X, what: str = "X"):
        """Validate data against the fitted event shape and domain; return internal tensor."""
        self._check_fitted()
        x = _as_numeric_array(X, what)
        if tuple(x.shape[1:]) != self.event_shape_:
            raise ValueError(f"{what} has samples of shape {tuple(x.shape[1:])} "
                             f"({math.prod(x.shape[1:])} features); the model was fitted on "
                             f"shape {self.event_shape_} ({self.n_features_} features)")
        if self.domain_ == "spins" and not np.all((x == 1) | (x == -1)):
            raise ValueError(f"{what} must hold spins in {{-1, +1}} (the model was fitted on "
                             "spins)")
        if self.domain_ == "bits" and not np.all((x == 0) | (x == 1)):
            raise ValueError(f"{what} must hold bits in {{0, 1}} (the model was fitted on bits)")
        return self._to_internal(x)

    def _check_init(self, init, n_samples: int):
        """Starting points for ``n_samples`` sampling chains: ``None``, or ``init`` checked as
        data (fitted shape and domain) and as one configuration per chain; internal tensor."""
        if init is None:
            return None
        start = self._check_X(init, "init")
        if len(start) != n_samples:
            raise ValueError(f"init holds {len(start)} configurations, n_samples is "
                             f"{n_samples}")
        return start

    # --- using a fitted model --------------------------------------------------------------

    def sample(self, n_samples: int, y=None, seed=None, **options) -> np.ndarray:
        """Draw ``n_samples`` samples, shape ``(n_samples, *event_shape_)``, in the fitted
        domain and dtype. Same ``seed`` -> same samples."""
        from physgen.random import torch_generator

        self._check_fitted()
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
                or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        y_tensor = self._encode_y(y, int(n_samples), fitting=False)
        generator = torch_generator(seed, device=self.device_)
        was_training = self.module_.training
        self.module_.eval()
        try:
            values = self._sample(int(n_samples), y_tensor, generator, **options)
        finally:
            self.module_.train(was_training)
        return self._from_internal(values)

    @property
    def has_likelihood(self) -> bool:
        """Whether ``score_samples`` is available for this family."""
        return type(self)._log_prob is not GenerativeModel._log_prob

    def score_samples(self, X, y=None) -> np.ndarray:
        """Log-likelihood (natural log) of each sample, shape ``(n_samples,)``."""
        if not self.has_likelihood:
            raise PhysgenError(f"{type(self).__name__} has no tractable likelihood; "
                               "score_samples is not available")
        x = self._check_X(X)
        y_tensor = self._encode_y(y, len(x), fitting=False) if y is not None else None
        return self._log_prob(x, y_tensor).detach().to("cpu").double().numpy()

    # --- saving and loading --------------------------------------------------------------

    def _snapshot(self):
        from physgen.training.loop import snapshot_state

        return snapshot_state(self)

    def _restore(self, saved) -> None:
        from physgen.training.loop import restore_state

        restore_state(self, saved)

    def _json_settings(self) -> dict:
        settings = {}
        for name, value in self.get_params().items():
            if isinstance(value, tuple):
                value = list(value)
            try:
                json.dumps(value)
            except TypeError:
                if name != "seed":
                    raise CheckpointError(f"setting {name}={value!r} cannot be saved as JSON")
                value = None  # a Generator seed: the weights are saved, the seed is not needed
            settings[name] = value
        return settings

    def _run_files(self):
        import physgen
        from physgen.training.checkpoint import RunFiles

        fitted = {"domain_": self.domain_, "event_shape_": list(self.event_shape_),
                  "n_features_": self.n_features_, "dtype_": self.dtype_}
        fitted.update({name: getattr(self, name) for name in self._fitted_json})
        config = {"class": type(self).__name__, "family": self.family,
                  "settings": self._json_settings(), "fitted": fitted,
                  "physgen_version": physgen.__version__}
        return RunFiles(config=config, model=dict(self.module_.state_dict()),
                        history=list(self.history_))

    def save(self, path, overwrite: bool = False) -> Path:
        """Write the run directory ``path`` (config.json, model.safetensors, history.json,
        and training_state.safetensors when this process fitted the model, so that
        ``fit(X, checkpoint_dir=path, resume=True)`` can continue it).

        An existing run at ``path`` is replaced only with ``overwrite=True``.
        """
        from physgen.training import checkpoint as ckpt

        self._check_fitted()
        path = Path(path)
        if not overwrite and any((path / name).exists() for name in (ckpt.CONFIG, ckpt.MANIFEST)):
            raise CheckpointError(f"{path} already holds a saved run; pass overwrite=True to "
                                  "replace it")
        trainer = getattr(self, "_trainer", None)
        files = trainer.run_files() if trainer is not None else self._run_files()
        return ckpt.write_run(path, files)


def _family_class(name: str):
    from physgen.models import FAMILIES, get_family

    for family, target in FAMILIES.items():
        if target.split(":")[1] == name:
            return get_family(family)
    raise CheckpointError(f"unknown model class {name!r} in config.json; known: "
                          f"{', '.join(t.split(':')[1] for t in FAMILIES.values())}")


def load(path, device: str | None = None) -> GenerativeModel:
    """Rebuild a model saved with ``save`` (or a checkpoint directory) from ``path``.

    Parameters
    ----------
    path : path of a run directory
    device : str, optional
        Overrides the saved ``device`` setting (e.g. load a GPU-trained model on "cpu").
    """
    from physgen.random import torch_generator
    from physgen.training.checkpoint import read_run

    files = read_run(path)
    config = files.config
    cls = _family_class(config.get("class", "?"))
    defaults = cls.setting_defaults()
    settings = {}
    for name, value in config["settings"].items():
        if name not in defaults:
            raise CheckpointError(f"{path}: {cls.__name__} has no setting {name!r}")
        if isinstance(value, list) and isinstance(defaults[name], tuple):
            value = tuple(value)
        settings[name] = value
    model = cls(**settings)
    if device is not None:
        model.device = device
    fitted = dict(config["fitted"])
    fitted["event_shape_"] = tuple(fitted["event_shape_"])
    for name, value in fitted.items():
        setattr(model, name, value)
    model.device_ = resolve_device(model.device)
    model._build(model.n_features_, torch_generator(0))
    try:
        model.module_.load_state_dict(files.model)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit {cls.__name__}: {exc}") from exc
    model.module_.to(model.device_)
    model.history_ = files.history
    return model
