"""Resampling shared by the metrics: two-sample bootstrap errors and permutation tests.

Convention for every metric that estimates from samples: ``return_estimate=True``
returns a :class:`physgen.stats.Estimate` whose ``mean`` is the metric on the full
samples and whose ``stderr`` is the bootstrap standard error, each sample resampled
independently with replacement ``n_resamples`` times (``seed`` fixes the draws).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.stats

from physgen.metrics._checks import as_pair, check_count
from physgen.random import as_generator
from physgen.stats import Estimate


@dataclass(frozen=True)
class TwoSampleTest:
    """Result of a two-sample test of the null hypothesis "same distribution".

    Attributes
    ----------
    statistic : float
        The test statistic on the observed samples (large means different).
    p_value : float
        Permutation p-value (1 + #{null ≥ statistic}) / (1 + n_permutations): valid
        (never anti-conservative) at any number of permutations.
    null : np.ndarray, shape (n_permutations,)
        The statistic under random relabellings of the pooled samples.
    stderr : float
        Bootstrap standard error of ``statistic`` (NaN when not requested).
    details : dict
        Settings that define the statistic (bandwidths, projections, ...).
    """

    statistic: float
    p_value: float
    null: np.ndarray = field(repr=False)
    stderr: float = float("nan")
    details: dict = field(default_factory=dict)

    @property
    def n_permutations(self) -> int:
        return int(len(self.null))

    @property
    def estimate(self) -> Estimate:
        """The statistic with its bootstrap error."""
        return Estimate(self.statistic, self.stderr)


def permutation_p_value(statistic: float, null) -> float:
    """One-sided p-value counting the observed value as one member of the null.

    A relative tolerance of 1e-9 treats values equal up to round-off as ties (SciPy's
    ``permutation_test`` does the same).
    """
    null = np.asarray(null, dtype=np.float64)
    tolerance = 1e-9 * max(abs(statistic), np.finfo(float).tiny)
    return float((1 + np.count_nonzero(null >= statistic - tolerance)) / (1 + len(null)))


def permutation_test(statistic: Callable[[np.ndarray, np.ndarray], float], x, y, *,
                     n_permutations: int = 200, seed=None, details=None) -> TwoSampleTest:
    """Generic permutation test of a statistic that grows with the difference.

    Parameters
    ----------
    statistic : callable
        ``statistic(x, y) -> float`` on arrays whose first axis indexes samples.
    x, y : np.ndarray, shapes (n, ...) and (m, ...)
    n_permutations : int
    seed : seed-like
    """
    n_permutations = check_count("n_permutations", n_permutations)
    as_pair(x, y)  # validation only: the statistic gets the samples as they are
    pooled = np.concatenate([np.asarray(x), np.asarray(y)])
    n = len(x)
    # SciPy permutes index arrays; the statistic looks the samples up, so samples may
    # have any event shape.
    result = scipy.stats.permutation_test(
        (np.arange(n), np.arange(n, len(pooled))),
        lambda i, j: statistic(pooled[i], pooled[j]),
        permutation_type="independent", vectorized=False, n_resamples=n_permutations,
        alternative="greater", rng=as_generator(seed))
    observed = float(result.statistic)
    null = np.asarray(result.null_distribution, dtype=np.float64)
    return TwoSampleTest(observed, permutation_p_value(observed, null), null,
                         details=dict(details or {}))


def bootstrap_two_sample(statistic: Callable[[np.ndarray, np.ndarray], float], x, y, *,
                         n_resamples: int = 200, seed=None) -> Estimate:
    """Bootstrap error of a two-sample statistic, resampling each sample independently.

    Parameters
    ----------
    statistic : callable
        ``statistic(x, y)`` returning a float or an array.
    x, y : np.ndarray, shapes (n, ...) and (m, ...)
    n_resamples : int
    seed : seed-like

    Returns
    -------
    Estimate
        ``mean``: the statistic on the full samples; ``stderr``: the bootstrap spread.
    """
    n_resamples = check_count("n_resamples", n_resamples, minimum=2)
    # SciPy's bootstrap resamples the index arrays (paired=False: independently); the
    # percentile method skips BCa's O(n^2) jackknife, and only the standard error is used.
    result = scipy.stats.bootstrap(
        (np.arange(len(x)), np.arange(len(y))), lambda i, j: statistic(x[i], y[j]),
        paired=False, vectorized=False, method="percentile", n_resamples=n_resamples,
        rng=as_generator(seed))
    return Estimate(_scalar(statistic(x, y)), _scalar(result.standard_error))


def resample_counts(rng: np.random.Generator, n: int, n_resamples: int) -> np.ndarray:
    """Bootstrap multiplicities: how often each of ``n`` samples is drawn, per resample.

    Returns
    -------
    np.ndarray of int64, shape (n_resamples, n)
        Each row sums to ``n``.
    """
    draws = rng.integers(0, n, size=(n_resamples, n))
    # one bincount over all rows at once: row r's draws are shifted into [r n, (r + 1) n)
    offsets = (np.arange(n_resamples) * n)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=n_resamples * n).reshape(n_resamples, n)


def _scalar(v):
    v = np.asarray(v, dtype=np.float64)
    return float(v) if v.ndim == 0 else v
