"""DDPM / DDIM noise schedules and reverse steps, independent of any network.

A :class:`NoiseSchedule` holds the forward process of Ho et al. (2020) and knows how to
take one reverse step given a network's ε prediction; :func:`sample` runs the reverse
chain for any ``denoiser(x_t, t) -> ε``. The diffusion model family
(:mod:`physgen.models.diffusion`) trains the network; everything here is plain tensor
algebra, so it is tested against closed forms with an exact ε-predictor.

Timesteps are 0-indexed as in the ``diffusers`` library: timestep ``t`` (0 <= t < T)
applies β_t, ᾱ_t = Π_{s<=t} (1 - β_s), and

    q(x_t | x_0) = N(sqrt(ᾱ_t) x_0, (1 - ᾱ_t) I).

So timestep 0 already carries the smallest amount of noise and "timestep -1" is the clean
data (ᾱ_{-1} = 1). Reverse steps go from ``t`` to an earlier ``prev_t`` (``t - 1`` for the
full chain, a bigger jump for a shortened one, ``-1`` for the last step to the data).

Steps with a jump (``prev_t < t - 1``) use the respaced process of Nichol & Dhariwal
(2021, §4): the sub-chain of the kept timesteps is itself a Markov chain with
β'_t = 1 - ᾱ_t / ᾱ_prev, for which the DDPM posterior is exact. DDIM (Song et al. 2021)
uses the same ᾱ; with ``eta = 0`` it draws no noise, so its output is a deterministic
function of x_T.

Why hand-written: the ``diffusers`` schedulers would bring a large dependency for ~100
lines of formulas, and their state (``set_timesteps``) is kept in the scheduler object;
here a step is a pure function of its arguments, which makes seeding and testing direct.
"""

from __future__ import annotations

import math

import numpy as np
import torch

SCHEDULES = ("linear", "cosine")
METHODS = ("ddpm", "ddim")


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def linear_betas(n_timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> np.ndarray:
    """β_t rising linearly from ``beta_start`` to ``beta_end`` (Ho et al. 2020), float64
    array of shape ``(n_timesteps,)``."""
    return np.linspace(beta_start, beta_end, n_timesteps, dtype=np.float64)


def cosine_betas(n_timesteps: int, offset: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """β_t of the cosine schedule (Nichol & Dhariwal 2021, eq. 17), shape ``(n_timesteps,)``.

    ᾱ(t) = f(t) / f(0) with f(t) = cos²((t/T + s) / (1 + s) · π/2); β_t = 1 - ᾱ(t+1)/ᾱ(t)
    (0-indexed), clipped at ``max_beta`` to avoid the singularity at t = T.
    """
    steps = np.arange(n_timesteps + 1, dtype=np.float64) / n_timesteps
    f = np.cos((steps + offset) / (1 + offset) * math.pi / 2) ** 2
    return np.minimum(1.0 - f[1:] / f[:-1], max_beta)


class NoiseSchedule:
    """The forward (noising) process and the DDPM / DDIM reverse steps.

    Parameters
    ----------
    n_timesteps : int
        T, the number of diffusion steps (Ho et al.: 1000).
    kind : {"linear", "cosine"}
    beta_start, beta_end : float
        End points of the linear schedule (Ho et al.: 1e-4 and 0.02); unused by "cosine".
    cosine_offset : float
        s of the cosine schedule (Nichol & Dhariwal: 0.008).
    max_beta : float
        Upper clip of β_t for the cosine schedule.

    Attributes
    ----------
    betas, alphas, alphas_cumprod : Tensor, shape (T,), float64 on the CPU
        β_t, α_t = 1 - β_t and ᾱ_t.
    """

    def __init__(self, n_timesteps: int = 1000, kind: str = "linear", *,
                 beta_start: float = 1e-4, beta_end: float = 0.02,
                 cosine_offset: float = 0.008, max_beta: float = 0.999):
        n_timesteps = _check_int("n_timesteps", n_timesteps, 1)
        if kind == "linear":
            if not 0 < beta_start <= beta_end < 1:
                raise ValueError(f"the linear schedule needs 0 < beta_start <= beta_end < 1, "
                                 f"got beta_start={beta_start!r}, beta_end={beta_end!r}")
            betas = linear_betas(n_timesteps, beta_start, beta_end)
        elif kind == "cosine":
            if not cosine_offset > 0 or not 0 < max_beta < 1:
                raise ValueError(f"the cosine schedule needs cosine_offset > 0 and "
                                 f"0 < max_beta < 1, got {cosine_offset!r}, {max_beta!r}")
            betas = cosine_betas(n_timesteps, cosine_offset, max_beta)
        else:
            raise ValueError(f"kind must be one of {', '.join(SCHEDULES)}, got {kind!r}")
        self.n_timesteps, self.kind = n_timesteps, kind
        self.betas = torch.as_tensor(betas)
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, 0)
        self._abar = self.alphas_cumprod.tolist()   # python floats for the scalar steps
        self._tables: dict = {}

    def __repr__(self) -> str:
        return f"NoiseSchedule(n_timesteps={self.n_timesteps}, kind={self.kind!r})"

    # --- closed forms ----------------------------------------------------------------------

    def alpha_bar(self, t: int) -> float:
        """ᾱ_t, with ᾱ_{-1} = 1 (the clean data)."""
        return 1.0 if t < 0 else self._abar[t]

    @property
    def posterior_variance(self) -> torch.Tensor:
        """β̃_t = β_t (1 - ᾱ_{t-1}) / (1 - ᾱ_t): the variance of q(x_{t-1} | x_t, x_0),
        shape (T,), float64 (β̃_0 = 0)."""
        previous = torch.cat([torch.ones(1, dtype=torch.float64), self.alphas_cumprod[:-1]])
        return self.betas * (1.0 - previous) / (1.0 - self.alphas_cumprod)

    def timesteps(self, steps: int | None = None) -> list[int]:
        """The timesteps a reverse chain of ``steps`` steps visits, in decreasing order.

        ``None`` (or T) gives every timestep T-1, ..., 0; fewer steps are spread evenly
        over [0, T-1], always starting at T-1 (pure noise) and ending at 0.
        """
        T = self.n_timesteps
        if steps is None:
            return list(range(T - 1, -1, -1))
        steps = _check_int("steps", steps, 1)
        if steps > T:
            raise ValueError(f"steps must be at most the schedule's n_timesteps={T}, got {steps}")
        return [int(v) for v in np.round(np.linspace(T - 1, 0, steps)).astype(np.int64)]

    def noise_coefficients(self, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """(sqrt ᾱ_t, sqrt(1 - ᾱ_t)), shape (T,) each, on ``device`` in ``dtype``, cached
        (index them with a timestep tensor to noise a batch without argument checks)."""
        key = (str(device), dtype)
        if key not in self._tables:
            abar = self.alphas_cumprod
            self._tables[key] = (abar.sqrt().to(device, dtype), (1 - abar).sqrt().to(device, dtype))
        return self._tables[key]

    def _check_t(self, t) -> torch.Tensor | int:
        if isinstance(t, torch.Tensor):
            if t.dtype.is_floating_point or t.dtype == torch.bool:
                raise ValueError(f"timesteps must be integers, got a {t.dtype} tensor")
            if t.numel() and (int(t.min()) < 0 or int(t.max()) >= self.n_timesteps):
                raise ValueError(f"timesteps must lie in [0, {self.n_timesteps - 1}]")
            return t
        return self._check_step(t)

    def _check_step(self, t) -> int:
        t = _check_int("t", t, 0)
        if t >= self.n_timesteps:
            raise ValueError(f"t must lie in [0, {self.n_timesteps - 1}], got {t}")
        return t

    # --- forward process -------------------------------------------------------------------

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t) -> torch.Tensor:
        """x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε.

        Parameters
        ----------
        x0, noise : Tensor, shape (batch, ...)
        t : int or integer Tensor of shape (batch,)
            One timestep for all rows, or one per row.
        """
        if x0.shape != noise.shape:
            raise ValueError(f"x0 {tuple(x0.shape)} and noise {tuple(noise.shape)} must have "
                             "the same shape")
        t = self._check_t(t)
        sqrt_abar, sqrt_one_minus = self.noise_coefficients(x0.device, x0.dtype)
        if isinstance(t, int):
            return sqrt_abar[t] * x0 + sqrt_one_minus[t] * noise
        if t.shape != x0.shape[:1]:
            raise ValueError(f"t must hold one timestep per row ({x0.shape[0]}), got shape "
                             f"{tuple(t.shape)}")
        shape = (-1,) + (1,) * (x0.dim() - 1)
        t = t.to(x0.device)
        return sqrt_abar[t].view(shape) * x0 + sqrt_one_minus[t].view(shape) * noise

    # --- reverse steps ---------------------------------------------------------------------

    def predict_x0(self, model_output: torch.Tensor, t: int, x_t: torch.Tensor) -> torch.Tensor:
        """x̂_0 = (x_t - sqrt(1 - ᾱ_t) ε̂) / sqrt(ᾱ_t) from an ε prediction."""
        abar = self.alpha_bar(self._check_step(t))
        return (x_t - math.sqrt(1.0 - abar) * model_output) / math.sqrt(abar)

    def step(self, model_output: torch.Tensor, t: int, x_t: torch.Tensor,
             generator: torch.Generator | None = None, *, prev_t: int | None = None,
             method: str = "ddpm", eta: float = 0.0, clip: float | None = None) -> torch.Tensor:
        """One reverse step x_t -> x_{prev_t} given the predicted noise ``model_output``.

        Parameters
        ----------
        model_output : Tensor, shape (batch, ...)
            ε̂(x_t, t).
        t : int
            Current timestep, 0 <= t < T.
        x_t : Tensor, shape (batch, ...)
        generator : torch.Generator, optional
            Source of the step's noise (DDPM, or DDIM with eta > 0); none is drawn otherwise.
        prev_t : int, optional
            Timestep to step to, -1 <= prev_t < t (default t - 1; -1 is the data).
        method : {"ddpm", "ddim"}
            Ancestral sampling with the posterior variance β̃ (Ho et al. eq. 6-7), or DDIM
            (Song et al. eq. 12) with σ = eta · sqrt((1-ᾱ_prev)/(1-ᾱ_t)) sqrt(1-ᾱ_t/ᾱ_prev).
        eta : float
            DDIM stochasticity (0: deterministic; 1: the DDPM variance).
        clip : float, optional
            Clamp x̂_0 to [-clip, clip] (data known to lie in a box, e.g. ±1 spins).

        Returns
        -------
        Tensor, shape of ``x_t``
        """
        t = self._check_step(t)
        prev_t = t - 1 if prev_t is None else prev_t
        if isinstance(prev_t, bool) or not isinstance(prev_t, (int, np.integer)) \
                or not -1 <= prev_t < t:
            raise ValueError(f"prev_t must be an integer with -1 <= prev_t < t={t}, "
                             f"got {prev_t!r}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        if not (isinstance(eta, (int, float)) and eta >= 0):
            raise ValueError(f"eta must be a number >= 0, got {eta!r}")
        if model_output.shape != x_t.shape:
            raise ValueError(f"model_output {tuple(model_output.shape)} and x_t "
                             f"{tuple(x_t.shape)} must have the same shape")
        abar, abar_prev = self.alpha_bar(t), self.alpha_bar(int(prev_t))
        x0 = self.predict_x0(model_output, t, x_t)
        eps = model_output
        if clip is not None:
            x0 = x0.clamp(-clip, clip)
            # keep ε consistent with the clipped x̂_0 (both describe the same x_t)
            eps = (x_t - math.sqrt(abar) * x0) / math.sqrt(1.0 - abar)
        if method == "ddpm":
            beta = 1.0 - abar / abar_prev
            coef_x0 = math.sqrt(abar_prev) * beta / (1.0 - abar)
            coef_xt = math.sqrt(1.0 - beta) * (1.0 - abar_prev) / (1.0 - abar)
            mean = coef_x0 * x0 + coef_xt * x_t
            std = math.sqrt(beta * (1.0 - abar_prev) / (1.0 - abar))
        else:
            std = eta * math.sqrt((1.0 - abar_prev) / (1.0 - abar) * (1.0 - abar / abar_prev))
            mean = math.sqrt(abar_prev) * x0 + math.sqrt(max(1.0 - abar_prev - std**2, 0.0)) * eps
        if std == 0.0:
            return mean
        noise = torch.randn(x_t.shape, generator=generator, device=x_t.device, dtype=x_t.dtype)
        return mean + std * noise


def sample(denoiser, x_T: torch.Tensor, schedule: NoiseSchedule, *, steps: int | None = None,
           method: str = "ddpm", eta: float = 0.0, clip: float | None = None,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Run the reverse chain from ``x_T`` to the data.

    Parameters
    ----------
    denoiser : callable
        ``denoiser(x_t, t) -> ε̂`` with ``x_t`` of the shape of ``x_T`` and ``t`` an int64
        tensor of shape (batch,) (all equal).
    x_T : Tensor, shape (batch, ...)
        Starting noise, N(0, I) for a model trained with this schedule (not modified).
    schedule : NoiseSchedule
    steps : int, optional
        Number of network evaluations (default: all T timesteps).
    method, eta, clip
        As in :meth:`NoiseSchedule.step`.
    generator : torch.Generator, optional
        Noise of the stochastic steps.

    Returns
    -------
    Tensor, shape of ``x_T``
    """
    timesteps = schedule.timesteps(steps)
    x = x_T
    for i, t in enumerate(timesteps):
        prev_t = timesteps[i + 1] if i + 1 < len(timesteps) else -1
        t_batch = torch.full((len(x),), t, dtype=torch.int64, device=x.device)
        x = schedule.step(denoiser(x, t_batch), t, x, generator, prev_t=prev_t, method=method,
                          eta=eta, clip=clip)
    return x
