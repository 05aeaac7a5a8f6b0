"""Wasserstein-1 distances: exact in 1-D, per feature, or sliced over random directions."""

from __future__ import annotations

import numpy as np
import scipy.stats

from physgen.metrics._checks import as_pair, check_count, check_test_counts
from physgen.metrics._resampling import TwoSampleTest, permutation_p_value, resample_counts
from physgen.random import as_generator
from physgen.stats import Estimate

METHODS = ("auto", "per_feature", "sliced")


class _PooledOrder:
    """W1 of many 1-D projections under any reweighting of the pooled samples.

    W1 = ∫ |F_x(t) - F_y(t)| dt is a sum over the gaps of the sorted pooled values, and
    a permutation or a bootstrap resample only changes the weights at fixed sorted
    positions. Sorting once and taking cumulative sums of weights makes every
    relabelling O(N) per projection; SciPy's ``wasserstein_distance`` would re-sort
    each time (this is why it is hand-written here; the tests check it against SciPy).

    Parameters
    ----------
    pooled : np.ndarray, shape (N, P)
        P one-dimensional projections of the N pooled samples.
    """

    def __init__(self, pooled: np.ndarray):
        # (P, N) layout: each projection's sorted order is contiguous for the cumsum.
        self.order = np.ascontiguousarray(np.argsort(pooled, axis=0, kind="stable").T)
        self.gaps = np.diff(np.take_along_axis(pooled.T, self.order, axis=1), axis=1)

    def distances(self, weights_x: np.ndarray, weights_y: np.ndarray) -> np.ndarray:
        """W1 per projection between the weighted empirical measures.

        Parameters
        ----------
        weights_x, weights_y : np.ndarray, shape (N,)
            Non-negative weights of the pooled samples in each measure.

        Returns
        -------
        np.ndarray, shape (P,)
        """
        # F_x - F_y is the cumulative sum of one signed weight vector: one gather.
        signed = weights_x / weights_x.sum() - weights_y / weights_y.sum()
        difference = np.cumsum(signed[self.order], axis=1)[:, :-1]
        return np.einsum("pn,pn->p", np.abs(difference), self.gaps)


def _projections(a, b, method, n_projections, rng):
    """The (n + m, P) projected pooled samples and whether to average them (sliced)."""
    pooled = np.concatenate([a, b])
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "auto":
        method = "per_feature" if pooled.shape[1] == 1 else "sliced"
    if method == "per_feature":
        return pooled, False
    n_projections = check_count("n_projections", n_projections)
    directions = rng.standard_normal((pooled.shape[1], n_projections))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    return pooled @ directions, True


def _indicator(n_before: int, n: int, n_after: int) -> np.ndarray:
    return np.r_[np.zeros(n_before), np.ones(n), np.zeros(n_after)]


def wasserstein(x, y, *, method: str = "auto", n_projections: int = 100, seed=None,
                return_estimate: bool = False, n_resamples: int = 200):
    """Wasserstein-1 (earth mover's) distance between two samples.

    Parameters
    ----------
    x : array_like, shape (n,) or (n, ...)
    y : array_like, shape (m,) or (m, ...)
        Samples are flattened to d features each.
    method : {"auto", "per_feature", "sliced"}
        "per_feature": the exact 1-D W1 of every feature, an array of shape (d,).
        "sliced": the mean over ``n_projections`` random unit directions θ of the exact
        W1 between the projections x·θ and y·θ (a float). "auto": exact W1 (a float) for
        one feature, sliced otherwise.
    n_projections : int
    seed : seed-like
        Fixes the random directions and the bootstrap.
    return_estimate : bool
        Return an :class:`~physgen.stats.Estimate` with a bootstrap error.
    n_resamples : int

    Returns
    -------
    float, np.ndarray of shape (d,), or Estimate
    """
    a, b = as_pair(x, y)
    rng = as_generator(seed)
    projected, sliced = _projections(a, b, method, n_projections, rng)
    m, n = len(a), len(b)
    if sliced:
        value = float(_PooledOrder(projected).distances(_indicator(0, m, n),
                                                        _indicator(m, n, 0)).mean())
    else:
        value = np.array([scipy.stats.wasserstein_distance(projected[:m, j], projected[m:, j])
                          for j in range(projected.shape[1])])
        if method == "auto":  # a single feature: the exact 1-D distance as a float
            value = float(value[0])
    if not return_estimate:
        return value
    n_resamples = check_count("n_resamples", n_resamples, minimum=2)
    order = _PooledOrder(projected)
    counts_a, counts_b = resample_counts(rng, m, n_resamples), resample_counts(rng, n, n_resamples)
    replicates = np.array([order.distances(np.r_[counts_a[r], np.zeros(n)],
                                           np.r_[np.zeros(m), counts_b[r]])
                           for r in range(n_resamples)])
    if sliced:
        replicates = replicates.mean(axis=1)
    stderr = replicates.std(axis=0, ddof=1)
    if np.ndim(value) == 0:  # sliced (mean already taken) or one feature
        stderr = float(np.ravel(stderr)[0])
    return Estimate(value, stderr)


def wasserstein_test(x, y, *, method: str = "auto", n_projections: int = 100,
                     n_permutations: int = 200, seed=None, n_resamples: int = 0) -> TwoSampleTest:
    """Permutation test of "same distribution" with the (sliced) W1 statistic.

    Parameters
    ----------
    x, y : array_like, shapes (n, ...) and (m, ...)
    method : {"auto", "per_feature", "sliced"}
        As in :func:`wasserstein`; "per_feature" uses the sum over features.
    n_projections, n_permutations : int
    seed : seed-like
    n_resamples : int
        If positive, also a bootstrap error of the statistic.

    Returns
    -------
    TwoSampleTest
    """
    a, b = as_pair(x, y)
    n_permutations, n_boot = check_test_counts(n_permutations, n_resamples)
    rng = as_generator(seed)
    projected, sliced = _projections(a, b, method, n_projections, rng)
    reduce = np.mean if sliced else np.sum
    order = _PooledOrder(projected)
    m, n = len(a), len(b)
    statistic = float(reduce(order.distances(_indicator(0, m, n), _indicator(m, n, 0))))
    null = np.empty(n_permutations)
    for p in range(n_permutations):
        label = np.zeros(m + n)
        label[rng.permutation(m + n)[:m]] = 1.0
        null[p] = reduce(order.distances(label, 1.0 - label))
    stderr = float("nan")
    if n_boot:
        counts_a, counts_b = resample_counts(rng, m, n_boot), resample_counts(rng, n, n_boot)
        stderr = float(np.std([reduce(order.distances(np.r_[counts_a[r], np.zeros(n)],
                                                      np.r_[np.zeros(m), counts_b[r]]))
                               for r in range(n_boot)], ddof=1))
    return TwoSampleTest(statistic, permutation_p_value(statistic, null), null, stderr,
                         {"method": "sliced" if sliced else "per_feature",
                          "n_projections": projected.shape[1]})
