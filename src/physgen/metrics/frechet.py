"""Fréchet distance between Gaussian fits of two feature sets (the FID formula)."""

from __future__ import annotations

import numpy as np
import scipy.linalg

from physgen.metrics._checks import as_pair
from physgen.metrics._resampling import bootstrap_two_sample
from physgen.stats import Estimate


def _psd_sqrt(cov: np.ndarray) -> np.ndarray:
    values, vectors = scipy.linalg.eigh(cov)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_gaussians(mean1, cov1, mean2, cov2) -> float:
    """Squared 2-Wasserstein (Fréchet) distance between N(mean1, cov1) and N(mean2, cov2).

    ‖μ₁ - μ₂‖² + tr(Σ₁ + Σ₂ - 2 (Σ₁^½ Σ₂ Σ₁^½)^½). The trace term uses the
    eigenvalues of the symmetric Σ₁^½ Σ₂ Σ₁^½, which stays real and stable where the
    general matrix square root of Σ₁Σ₂ can pick up imaginary round-off.

    Parameters
    ----------
    mean1, mean2 : array_like, shape (d,)
    cov1, cov2 : array_like, shape (d, d)
        Symmetric positive semi-definite.

    Returns
    -------
    float
    """
    mean1, mean2 = (np.atleast_1d(np.asarray(m, dtype=np.float64)) for m in (mean1, mean2))
    cov1, cov2 = (np.atleast_2d(np.asarray(c, dtype=np.float64)) for c in (cov1, cov2))
    d = mean1.shape[0]
    if mean1.shape != (d,) or mean2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
        raise ValueError(f"means must have shape (d,) and covariances (d, d) with one d, got "
                         f"{mean1.shape}, {cov1.shape}, {mean2.shape}, {cov2.shape}")
    for name, c in (("cov1", cov1), ("cov2", cov2)):
        if not np.all(np.isfinite(c)) or not np.allclose(c, c.T, rtol=1e-10, atol=1e-12):
            raise ValueError(f"{name} must be a finite symmetric matrix")
    root1 = _psd_sqrt(cov1)
    middle = root1 @ cov2 @ root1
    trace_root = np.sqrt(np.clip(scipy.linalg.eigvalsh(0.5 * (middle + middle.T)), 0.0, None)).sum()
    diff = mean1 - mean2
    return float(max(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_root, 0.0))


def _frechet(a: np.ndarray, b: np.ndarray) -> float:
    return frechet_gaussians(a.mean(axis=0), np.atleast_2d(np.cov(a, rowvar=False)),
                             b.mean(axis=0), np.atleast_2d(np.cov(b, rowvar=False)))


def frechet_distance(x, y, *, return_estimate: bool = False, n_resamples: int = 200,
                     seed=None) -> float | Estimate:
    """Fréchet distance between Gaussians fitted (mean, covariance) to two feature sets.

    Parameters
    ----------
    x : array_like, shape (n, ...)
    y : array_like, shape (m, ...)
        Samples flattened to d features; covariances are d × d, so use a moderate d
        (physical observables, principal components, network features).
    return_estimate : bool
        Return an Estimate with a bootstrap error.
    n_resamples : int
    seed : seed-like

    Returns
    -------
    float or Estimate
        Positive even for two samples of one distribution (a finite-sample bias of
        order d / n).
    """
    a, b = as_pair(x, y)
    if not return_estimate:
        return _frechet(a, b)
    return bootstrap_two_sample(_frechet, a, b, n_resamples=n_resamples, seed=seed)
