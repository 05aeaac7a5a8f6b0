"""Annealed importance sampling (Neal 2001) for log partition functions.

A chain starts from an exactly sampled base distribution p_0 with known Z_0 and is moved
through intermediate distributions p_k ∝ f_k, k = 1..K, by transitions T_k that leave p_k
invariant. The importance weight of a chain,

    log w = Σ_{k=1}^{K} [log f_k(x_{k-1}) - log f_{k-1}(x_{k-1})],   x_k ~ T_k(x_{k-1}),

has E[w] = Z_K / Z_0, so log Z_K ≈ log Z_0 + log-mean-exp(log w). For an RBM
(Salakhutdinov & Murray 2008) p_0 is the base-rate model (W = 0) and f_β interpolates its
energy and the RBM's at inverse temperatures 0 = β_0 < β_1 < ... < β_K = 1.

The error comes from the spread across independent runs: the chains are split into
``n_runs`` groups, each group gives its own estimate, and the standard error is their
standard deviation over sqrt(n_runs). (The point estimate uses all chains at once.)

Why hand-written: AIS is a dozen lines around the model's own Gibbs step, and no
maintained library implements it for user-supplied PyTorch transition kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import logsumexp

from physgen.stats import Estimate


def ais_betas(n_betas: int) -> np.ndarray:
    """Inverse temperatures 0 = β_0 < ... < β_K = 1, shape ``(n_betas,)``.

    Spaced as in Salakhutdinov & Murray (2008): sparse on [0, 0.5], denser on [0.5, 0.9],
    densest on [0.9, 1] (there, 5 %, 30 % and 65 % of the points), where the distributions
    change fastest for a trained model.
    """
    if isinstance(n_betas, bool) or not isinstance(n_betas, (int, np.integer)) or n_betas < 10:
        raise ValueError(f"n_betas must be an integer >= 10, got {n_betas!r}")
    n1 = max(int(round(0.05 * n_betas)), 2)
    n2 = max(int(round(0.30 * n_betas)), 2)
    n3 = n_betas - n1 - n2 + 2           # the joints are shared
    return np.concatenate([np.linspace(0.0, 0.5, n1)[:-1], np.linspace(0.5, 0.9, n2)[:-1],
                           np.linspace(0.9, 1.0, n3)])


@dataclass(frozen=True)
class AISResult:
    """Outcome of :func:`annealed_importance_sampling`.

    Attributes
    ----------
    log_z : Estimate
        log Z_K with its standard error from the spread of the runs.
    run_log_z : np.ndarray, shape (n_runs,)
        The estimate of each run.
    log_weights : np.ndarray, shape (n_runs, n_chains)
        log w of every chain (the effective sample size of a run is
        (Σ w)² / Σ w²).
    """

    log_z: Estimate
    run_log_z: np.ndarray
    log_weights: np.ndarray

    @property
    def effective_sample_size(self) -> np.ndarray:
        """(Σ w)² / Σ w² per run, shape (n_runs,)."""
        lw = self.log_weights
        return np.exp(2 * logsumexp(lw, axis=1) - logsumexp(2 * lw, axis=1))


def annealed_importance_sampling(x0: torch.Tensor, step, betas, log_z_base: float,
                                 generator, n_runs: int = 10) -> AISResult:
    """Estimate log Z of the target distribution p_K by AIS.

    Parameters
    ----------
    x0 : Tensor, shape (n_runs * n_chains, ...)
        Exact samples of the base distribution p_0 (not modified).
    step : callable
        ``step(x, beta_prev, beta, generator) -> (x_next, log_ratio)`` with
        ``log_ratio = log f_beta(x) - log f_beta_prev(x)`` (shape (n,), evaluated at the
        INCOMING ``x``) and ``x_next`` drawn from a transition leaving p_beta invariant.
    betas : array-like, shape (K + 1,)
        Increasing from 0 (the base) to 1 (the target).
    log_z_base : float
        log Z_0 of the base distribution.
    generator : torch.Generator or numpy.random.Generator
    n_runs : int
        Independent groups the chains are split into, for the error estimate (>= 2).

    Returns
    -------
    AISResult
    """
    betas = np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or len(betas) < 2 or betas[0] != 0.0 or betas[-1] != 1.0 \
            or np.any(np.diff(betas) <= 0):
        raise ValueError("betas must increase strictly from 0 to 1 (at least 2 values)")
    if isinstance(n_runs, bool) or not isinstance(n_runs, (int, np.integer)) or n_runs < 2:
        raise ValueError(f"n_runs must be an integer >= 2, got {n_runs!r}")
    if len(x0) % n_runs:
        raise ValueError(f"the {len(x0)} chains do not split into {n_runs} equal runs")
    x = x0
    log_w = torch.zeros(len(x0), dtype=torch.float64, device=x0.device)
    for beta_prev, beta in zip(betas[:-1].tolist(), betas[1:].tolist()):
        x, log_ratio = step(x, beta_prev, beta, generator)
        log_w += log_ratio
    log_weights = log_w.cpu().numpy().reshape(n_runs, -1)
    run_log_z = log_z_base + logsumexp(log_weights, axis=1) - np.log(log_weights.shape[1])
    total = log_z_base + logsumexp(log_weights) - np.log(log_weights.size)
    stderr = float(np.std(run_log_z, ddof=1) / np.sqrt(n_runs))
    return AISResult(Estimate(float(total), stderr), run_log_z, log_weights)
