"""Energy-based model p(x) ∝ exp(-E_θ(x)), trained by contrastive divergence with Langevin
negatives (Du & Mordatch 2019).

Each update lowers the energy of the data and raises that of negative samples:

    loss = mean E(x⁺) - mean E(x⁻) + α (mean E(x⁺)² + mean E(x⁻)²),

whose gradient is the maximum-likelihood gradient E_data[∇E] - E_model[∇E] when the x⁻ are
model samples, plus the energy-magnitude regulariser that keeps the energies near 0. The
x⁻ come from :func:`physgen.samplers.langevin.langevin` (``n_steps`` steps of size
``step_size`` with noise ``noise_scale`` and per-component gradient clipping ``grad_clip``),
started from a replay buffer of past negatives of which a fraction ``reinit_fraction`` is
restarted from uniform noise at every update; the negatives go back into the buffer. The
buffer is training state: checkpointed, and resumed exactly.

Data representation: continuous data are standardised per feature inside. Spins and bits
use a continuous relaxation: the energy is defined on R^n with the sites at ±1, the data
(exactly ±1) get Gaussian noise of standard deviation ``data_noise`` (so that the energy
cannot tell data from negatives by exact values alone), Langevin chains move in the box
[-(1 + 3 data_noise), 1 + 3 data_noise]^n, and ``sample`` returns the sign of each
coordinate (±1 spins, or 0/1 bits); :meth:`EBM.sample_relaxed` gives the values before
rounding.

Chains are kept within a box around the data: [min, max] of each standardised feature
widened by ``margin`` times its range for continuous data, the box above for spins and bits;
uniform noise in that box starts fresh chains.

The default sampler runs at a low effective temperature noise_scale² / (2 step_size) =
0.00125 (as Du & Mordatch's), which suits continuous data with narrow modes (the
8-Gaussian ring: 97 % of samples within 3σ of a mode) but concentrates samples at energy
minima: on spins it reproduces ordered states (4×4 Ising at T = 1.5), but the frequencies
of independent, weakly biased sites are not reproduced (data with mean spin 0.70 gave
samples with mean 0.49 after a short fit), because at this temperature a chain does not
cross between the ±1 sides of a site: which side it ends on follows from the drift, not
from the probabilities.

The energy has no normalising constant, so there is no ``score_samples``; :meth:`EBM.energy`
gives the unnormalised -log p.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from physgen.models.base import GenerativeModel
from physgen.models.nets import Standardize, mlp, reinitialize
from physgen.samplers.langevin import langevin


class _EnergyNet(nn.Module):
    """E(x) = MLP(x); buffers: the standardisation of continuous data and the noise box."""

    def __init__(self, n_features: int, hidden):
        super().__init__()
        self.net = mlp(n_features, 1, hidden, activation=nn.SiLU)
        self.standardize = Standardize(n_features)
        self.register_buffer("lower", -torch.ones(n_features))
        self.register_buffer("upper", torch.ones(n_features))

    def forward(self, x):
        return self.net(x).squeeze(-1)


class EBM(GenerativeModel):
    """Energy-based model with an MLP energy, trained with SGLD negatives and a replay buffer.

    Parameters
    ----------
    hidden : tuple of int
        Hidden widths of the energy MLP (SiLU activations: a smooth energy has a smooth
        gradient for Langevin).
    n_steps : int
        Langevin steps per negative batch during training.
    step_size : float
        Langevin step: multiplier of the clipped energy gradient.
    noise_scale : float
        Standard deviation of the Langevin noise per step. Below ``sqrt(2 step_size)``
        the chains run at an effective temperature noise_scale² / (2 step_size) < 1, as
        is usual for EBM training; the sampler the model is trained with is also the one
        that ``sample`` uses.
    grad_clip : float or None
        Clip each component of the energy gradient to ±grad_clip inside Langevin.
    buffer_size : int
        Replay buffer of negative samples.
    reinit_fraction : float
        Fraction of each negative batch restarted from uniform noise (0 .. 1).
    alpha : float
        Weight of the energy-magnitude regulariser α (E(x⁺)² + E(x⁻)²).
    data_noise : float or None
        Standard deviation of Gaussian noise added to the positive samples (in standardised
        units for continuous data); ``None``: 0.1 for spins and bits, 0 for continuous data.
    margin : float
        Widening of the noise box beyond the data range, as a fraction of the range
        (continuous data).
    sample_steps : int
        Default Langevin steps of ``sample``.
    epochs, batch_size, learning_rate, optimizer, lr_schedule, seed, device, on_nonfinite
        Shared settings (see :mod:`physgen.models.base`).

    Attributes
    ----------
    module_ : nn.Module
        The energy network (``net``) and buffers.
    buffer_ : Tensor (buffer_size, n_features)
        The replay buffer after fitting (internal units).
    history_ : list of dict
        Per epoch, averaged over the mini-batches: ``loss``, ``energy_data`` (mean E(x⁺)),
        ``energy_samples`` (mean E(x⁻)), ``contrastive`` (their difference, negative when
        the data have lower energy), ``regularizer``, plus ``lr`` and ``time``.

    Examples
    --------
    >>> ebm = EBM(epochs=100, seed=0).fit(X)                            # doctest: +SKIP
    >>> Y = ebm.sample(1000, seed=1, steps=500)                         # doctest: +SKIP
    >>> refined = ebm.sample(1000, seed=2, steps=50, init=Y)            # doctest: +SKIP
    """

    family = "ebm"
    discrete_as = "spins"

    def __init__(self, hidden=(128, 128), *, n_steps=20, step_size=0.01, noise_scale=0.005,
                 grad_clip=None, buffer_size=10000, reinit_fraction=0.05, alpha=0.1,
                 data_noise=None, margin=0.1, sample_steps=200, epochs=100, batch_size=128,
                 learning_rate=3e-3, optimizer="adam", lr_schedule="constant", seed=None,
                 device="cpu", on_nonfinite="raise"):
        self._store_settings(locals())

    # --- settings ------------------------------------------------------------------------

    def _check_settings(self) -> None:
        super()._check_settings()
        for name in ("n_steps", "buffer_size", "sample_steps"):
            value = getattr(self, name)
            minimum = 0 if name == "sample_steps" else 1
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if not isinstance(self.hidden, (tuple, list)) or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1
                for v in self.hidden):
            raise ValueError(f"hidden must be a tuple of positive integers, got "
                             f"{self.hidden!r}")

        def number(name, *, positive=False, optional=False, upper=None):
            value = getattr(self, name)
            if value is None and optional:
                return
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and math.isfinite(value) and (value > 0 if positive else value >= 0)
                  and (upper is None or value <= upper))
            if not ok:
                bound = "> 0" if positive else ">= 0"
                bound += f" and <= {upper}" if upper is not None else ""
                raise ValueError(f"{name} must be a number {bound}"
                                 f"{' or None' if optional else ''}, got {value!r}")

        number("step_size", positive=True)
        number("noise_scale")
        number("grad_clip", positive=True, optional=True)
        number("reinit_fraction", upper=1.0)
        number("alpha")
        number("data_noise", optional=True)
        number("margin")

    # --- hooks ---------------------------------------------------------------------------

    def _build(self, n_features: int, generator) -> None:
        self.module_ = _EnergyNet(n_features, tuple(self.hidden))
        # torch's default init draws from the global RNG: redraw from the seeded generator
        reinitialize(self.module_, generator)
        self.buffer_ = None

    def _start_training(self, x, y) -> None:
        net = self.module_
        with torch.no_grad():
            if self.domain_ == "continuous":
                z = net.standardize.fit(x)(x)
                low, high = z.min(0).values, z.max(0).values
                widen = self.margin * (high - low).clamp_min(1e-3)
                net.lower.copy_(low - widen)
                net.upper.copy_(high + widen)
            else:   # the ±1 corners and the noise around them
                half_width = 1.0 + 3.0 * self._data_noise()
                net.lower.fill_(-half_width)
                net.upper.fill_(half_width)
        self.buffer_ = self._noise(self.buffer_size, self.generator_)

    def _train_step(self, x, y, step: int) -> dict:
        generator = self.generator_
        n = len(x)
        # negatives: a batch from the replay buffer, a fraction restarted from noise
        index = torch.randint(self.buffer_size, (n,), generator=generator,
                              device=generator.device).to(self.device_)
        start = self.buffer_[index]
        fresh = torch.rand(n, generator=generator, device=generator.device).to(
            self.device_) < self.reinit_fraction
        start = torch.where(fresh[:, None], self._noise(n, generator), start)
        negatives = self._langevin(start, self.n_steps, generator)
        self.buffer_[index] = negatives

        positives = self._standardise(x)
        noise = self._data_noise()
        if noise > 0:
            positives = positives + noise * torch.randn(positives.shape, generator=generator,
                                                        device=generator.device).to(x.device)
        optimizer = self.optimizers_["model"]
        optimizer.zero_grad(set_to_none=True)
        energy_pos = self.module_(positives)
        energy_neg = self.module_(negatives)
        contrastive = energy_pos.mean() - energy_neg.mean()
        regularizer = self.alpha * (energy_pos.square().mean() + energy_neg.square().mean())
        loss = contrastive + regularizer
        loss.backward()
        optimizer.step()
        return {"loss": loss.detach(), "energy_data": energy_pos.detach().mean(),
                "energy_samples": energy_neg.detach().mean(),
                "contrastive": contrastive.detach(), "regularizer": regularizer.detach()}

    def _get_training_state(self) -> dict:
        return {} if self.buffer_ is None else {"buffer": self.buffer_}

    def _set_training_state(self, tensors: dict) -> None:
        if "buffer" in tensors:
            self.buffer_ = tensors["buffer"].to(self.device_)

    def _sample(self, n: int, y, generator, steps=None, init=None):
        steps = self.sample_steps if steps is None else steps
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
        start = self._noise(n, generator) if init is None else init
        values = self._langevin(start, int(steps), generator)
        if self.domain_ == "continuous":
            return self.module_.standardize.inverse(values)
        return values   # ±1 relaxation: the base class keeps the sign (>= 0 -> +1)

    # --- pieces --------------------------------------------------------------------------

    def _data_noise(self) -> float:
        if self.data_noise is not None:
            return float(self.data_noise)
        return 0.0 if self.domain_ == "continuous" else 0.1

    def _standardise(self, x):
        if self.domain_ != "continuous":
            return x
        return self.module_.standardize(x)

    def _noise(self, n: int, generator):
        """Uniform noise in the sampling box, shape (n, n_features), on ``device_``."""
        net = self.module_
        u = torch.rand((n, self.n_features_), generator=generator,
                       device=generator.device).to(self.device_)
        return net.lower + (net.upper - net.lower) * u

    def _langevin(self, start, n_steps: int, generator):
        net = self.module_
        return langevin(net, start, n_steps, self.step_size, self.noise_scale, generator,
                        clip=self.grad_clip, bounds=(net.lower, net.upper))

    # --- public methods beyond the contract ----------------------------------------------

    def _start_points(self, init, n_samples):
        """``init`` (data units) as standardised internal values, or None."""
        start = self._check_init(init, n_samples)
        return None if start is None else self._standardise(start)

    def sample(self, n_samples: int, y=None, seed=None, *, steps: int | None = None,
               init=None) -> np.ndarray:
        """Langevin samples, shape ``(n_samples, *event_shape_)`` in the fitted domain.

        Parameters
        ----------
        steps : int, optional
            Langevin steps (default: the ``sample_steps`` setting).
        init : array-like, shape (n_samples, *event_shape_), optional
            Start the chains from these points (in the data's units; spins or bits for
            discrete data) instead of uniform noise in the sampling box.
        """
        return super().sample(n_samples, y, seed, steps=steps,
                              init=self._start_points(init, n_samples))

    def sample_relaxed(self, n_samples: int, seed=None, *, steps: int | None = None,
                       init=None) -> np.ndarray:
        """The Langevin states before rounding, float32, shape ``(n_samples,
        *event_shape_)``: in [-1, 1] for spins, in [0, 1] for bits (``(v + 1) / 2``), the
        samples themselves for continuous data. With the same arguments, :meth:`sample`
        returns their signs (spins) or ``>= 0.5`` (bits)."""
        from physgen.random import torch_generator

        self._check_fitted()
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
                or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        start = self._start_points(init, n_samples)
        # the same generator and hook as GenerativeModel.sample, without the rounding
        generator = torch_generator(seed, device=self.device_)
        values = self._sample(int(n_samples), None, generator, steps=steps, init=start)
        values = values.to("cpu", torch.float32)
        if self.domain_ == "bits":
            values = (values + 1) / 2
        return values.numpy().reshape((int(n_samples), *self.event_shape_))

    def energy(self, X) -> np.ndarray:
        """E(x) of each row of ``X`` (the unnormalised -log p), shape ``(n_samples,)``.

        For continuous data the energy is that of the standardised values (a constant shift
        of -log p in the data's units).
        """
        with torch.no_grad():
            x = self._standardise(self._check_X(X))
            return self.module_(x).cpu().double().numpy()
