"""Estimates with errors: bootstrap, blocking and integrated autocorrelation times."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.stats

from physgen.random import as_generator


@dataclass(frozen=True)
class Estimate:
    """A measured value and its one-standard-error uncertainty.

    ``mean`` and ``stderr`` are floats, or arrays of one shape (e.g. G(r)).
    """

    mean: float | np.ndarray
    stderr: float | np.ndarray

    def z_score(self, value) -> float | np.ndarray:
        """(mean - value) / stderr; infinite where the error is zero and the values differ."""
        diff = np.asarray(self.mean) - np.asarray(value)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(np.asarray(self.stderr) > 0, diff / np.asarray(self.stderr),
                         np.where(diff == 0, 0.0, np.inf))
        return float(z) if z.ndim == 0 else z

    def to_dict(self) -> dict:
        as_list = lambda v: np.asarray(v).tolist()  # noqa: E731
        return {"mean": as_list(self.mean), "stderr": as_list(self.stderr)}

    def __format__(self, spec: str) -> str:
        if np.ndim(self.mean):
            return f"{np.asarray(self.mean)} ± {np.asarray(self.stderr)}"
        spec = spec or ".5g"
        return f"{format(float(self.mean), spec)} ± {format(float(self.stderr), '.2g')}"

    def __str__(self) -> str:
        return format(self)


def mean_estimate(x, axis: int = 0) -> Estimate:
    """Mean of independent values with the standard error of the mean."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[axis]
    if n < 2:
        raise ValueError(f"need at least 2 values to estimate an error, got {n}")
    return Estimate(_scalar(x.mean(axis)), _scalar(x.std(axis, ddof=1) / np.sqrt(n)))


def bootstrap(statistic: Callable[..., float], *samples, n_resamples: int = 200,
              seed=None) -> Estimate:
    """Bootstrap standard error of ``statistic`` over paired samples.

    Parameters
    ----------
    statistic : callable
        ``statistic(*samples)`` for arrays whose first axis indexes independent draws;
        it returns a float or an array.
    *samples : array_like, each of shape (n, ...)
        Resampled together (paired) along the first axis.
    n_resamples : int
    seed : seed-like

    Returns
    -------
    Estimate
        ``mean`` is the statistic on the full sample, ``stderr`` the bootstrap spread.
    """
    arrays = [np.asarray(s) for s in samples]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("paired samples must have the same length")
    if n < 2:
        raise ValueError(f"need at least 2 samples to bootstrap, got {n}")
    # SciPy's bootstrap does the resampling; its percentile method avoids the O(n^2)
    # jackknife of BCa, and we only use its standard error.
    result = scipy.stats.bootstrap(
        (np.arange(n),), lambda idx: statistic(*(a[idx] for a in arrays)),
        n_resamples=n_resamples, vectorized=False, method="percentile",
        rng=as_generator(seed))
    return Estimate(_scalar(np.asarray(statistic(*arrays), dtype=float)),
                    _scalar(np.asarray(result.standard_error, dtype=float)))


def blocking_error(x) -> float:
    """Standard error of the mean of a correlated series by blocking.

    Flyvbjerg & Petersen (1989) with Jonsson's (2018) automatic choice of the
    blocking level. Hand-written: SciPy has no blocking estimator.

    Parameters
    ----------
    x : array_like, shape (n,)
    """
    x = np.asarray(x, dtype=np.float64)
    n_levels = int(np.floor(np.log2(len(x))))
    if n_levels < 2:
        raise ValueError(f"need at least 4 values for a blocking error, got {len(x)}")
    x = x[len(x) - 2**n_levels:]  # a power of two keeps every level exact
    n_sizes, variances, gammas = [], [], []
    for _ in range(n_levels):
        mean = x.mean()
        n_sizes.append(len(x))
        variances.append(((x - mean) ** 2).mean())
        gammas.append(((x[:-1] - mean) * (x[1:] - mean)).sum() / len(x))
        x = 0.5 * (x[0::2] + x[1::2])
    n_k, var_k, gamma_k = (np.array(v, dtype=np.float64) for v in (n_sizes, variances, gammas))
    if var_k[0] == 0:
        return 0.0
    var_safe = np.maximum(var_k, 1e-300)
    # Jonsson's statistic M_j = sum_{k>=j} n_k ((n_k-1) var_k / n_k^2 + gamma_k)^2 / var_k^2,
    # compared with chi-square quantiles: the first level where the blocks decorrelate.
    terms = n_k * ((n_k - 1) * var_k / n_k**2 + gamma_k) ** 2 / var_safe**2
    m_stat = np.cumsum(terms[::-1])[::-1]
    q = scipy.stats.chi2.ppf(0.99, df=n_levels - np.arange(n_levels))
    level = next((k for k in range(n_levels) if m_stat[k] < q[k]), n_levels - 1)
    return float(np.sqrt(var_k[level] / max(n_k[level] - 1, 1)))


def autocorrelation(x) -> np.ndarray:
    """Normalised autocorrelation function of one or many series.

    Parameters
    ----------
    x : array_like, shape (n_steps,) or (n_chains, n_steps)
        Many chains are averaged (each centred on the grand mean).

    Returns
    -------
    np.ndarray, shape (n_steps,)
        rho(t) with rho(0) = 1 (all zeros for a constant series).
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    n = x.shape[1]
    x = x - x.mean()
    size = 1 << int(np.ceil(np.log2(2 * n)))  # zero padding: linear, not circular
    f = np.fft.rfft(x, size, axis=1)
    acf = np.fft.irfft(f * np.conj(f), size, axis=1)[:, :n].mean(axis=0)
    acf /= np.arange(n, 0, -1)  # unbiased lag normalisation
    if acf[0] <= 0:
        return np.zeros(n)
    return acf / acf[0]


def integrated_time(x, c: float = 5.0) -> float:
    """Integrated autocorrelation time with Sokal's automatic window.

    tau = 1 + 2 sum_{t=1}^{W} rho(t), W the smallest window with W >= c * tau, so
    that independent samples give tau = 1 and the error of a mean of n correlated
    values is sqrt(tau * var / n).

    Parameters
    ----------
    x : array_like, shape (n_steps,) or (n_chains, n_steps)
    c : float
        Window constant (5 is Sokal's recommendation).
    """
    rho = autocorrelation(x)
    taus = 2.0 * np.cumsum(rho) - 1.0  # 1 + 2 sum_{t>=1} rho(t) up to each window
    windows = np.arange(len(taus))
    ok = windows >= c * taus
    window = int(np.argmax(ok)) if ok.any() else len(taus) - 1
    return float(max(taus[window], 1.0))


def _scalar(v):
    v = np.asarray(v)
    return float(v) if v.ndim == 0 else v
