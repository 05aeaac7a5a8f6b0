"""Langevin dynamics on an energy function, independent of any network.

The update (unadjusted Langevin / stochastic-gradient Langevin dynamics, Welling & Teh 2011)
is

    x <- x - step_size * clip(∇E(x)) + noise_scale * ε,   ε ~ N(0, I).

With ``noise_scale = sqrt(2 step_size)`` (the default) and no clipping, the chain samples
p(x) ∝ exp(-E(x)) up to a discretisation bias of order ``step_size``: for the Gaussian
E(x) = x²/(2σ²) the stationary variance is σ² / (1 - step_size / (2σ²)). Energy-based
models are usually trained with a smaller noise (Du & Mordatch 2019), i.e. at an effective
temperature noise_scale² / (2 step_size) below 1; that is a choice of the caller.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def _check(value, name: str, *, minimum: float, allow_equal: bool, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value < minimum or (value == minimum
                                                             and not allow_equal):
        bound = f">= {minimum}" if allow_equal else f"> {minimum}"
        raise ValueError(f"{name} must be a finite number {bound}"
                         f"{' or None' if allow_none else ''}, got {value!r}")
    return float(value)


def langevin(energy_fn, x0: torch.Tensor, n_steps: int, step_size: float,
             noise_scale: float | None = None, generator: torch.Generator | None = None, *,
             clip: float | None = None, bounds=None) -> torch.Tensor:
    """Run ``n_steps`` Langevin updates from ``x0`` on the energy ``energy_fn``.

    Parameters
    ----------
    energy_fn : callable
        ``energy_fn(x) -> Tensor (n,)``, the energy of each row of ``x`` (n, ...);
        differentiable in ``x``. Gradients flow only to ``x``: parameters of the energy get
        no ``.grad`` from this function.
    x0 : Tensor, shape (n, ...)
        Starting points (not modified).
    n_steps : int
        Number of updates (0 returns a copy of ``x0``).
    step_size : float
        Multiplier of the energy gradient, > 0.
    noise_scale : float, optional
        Standard deviation of the Gaussian noise added per step, >= 0 (default
        ``sqrt(2 step_size)``, which targets exp(-E)).
    generator : torch.Generator
        Source of the noise (on ``x0``'s device); required when ``noise_scale > 0``.
    clip : float, optional
        Clip every component of the gradient to [-clip, clip] before the step.
    bounds : (lower, upper), optional
        Clamp the chain to this box after every step (floats or tensors broadcastable to a
        row of ``x0``).

    Returns
    -------
    Tensor, shape of ``x0``
        The final states, detached.
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    step_size = _check(step_size, "step_size", minimum=0.0, allow_equal=False)
    noise_scale = math.sqrt(2 * step_size) if noise_scale is None else _check(
        noise_scale, "noise_scale", minimum=0.0, allow_equal=True)
    clip = _check(clip, "clip", minimum=0.0, allow_equal=False, allow_none=True)
    if noise_scale > 0 and generator is None:
        raise ValueError("langevin needs a torch.Generator for its noise (noise_scale > 0)")
    if not torch.is_floating_point(x0):
        raise ValueError(f"x0 must be a floating-point tensor, got dtype {x0.dtype}")
    x = x0.detach().clone()
    for _ in range(int(n_steps)):
        with torch.enable_grad():
            x.requires_grad_(True)
            energy = energy_fn(x)
            if energy.shape != x.shape[:1]:
                raise ValueError(f"energy_fn must return one energy per row, shape "
                                 f"({len(x)},); got shape {tuple(energy.shape)}")
            grad, = torch.autograd.grad(energy.sum(), x)
        x = x.detach()
        if clip is not None:
            grad = grad.clamp(-clip, clip)
        x = x - step_size * grad
        if noise_scale > 0:
            x = x + noise_scale * torch.randn(x.shape, generator=generator, device=x.device,
                                              dtype=x.dtype)
        if bounds is not None:
            x = torch.clamp(x, *bounds)
    return x
