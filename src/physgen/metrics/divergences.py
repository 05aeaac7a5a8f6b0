"""KL and Jensen–Shannon divergences and total variation, in nats.

Each takes one of three kinds of input (the ``kind`` argument):

``"probabilities"``
    Two probability vectors (or arrays) of one shape over the same states: exact.
``"discrete"``
    Two samples of discrete states, shapes (n, ...) and (m, ...); each sample (a row,
    e.g. a spin configuration or an energy level) is one state. Probabilities are the
    counts over the union S of states seen in either sample plus ``smoothing``
    pseudo-counts per state of S, normalised: p_s = (c_s + α) / (n + α |S|).
``"continuous"``
    Two samples of at most 3 continuous features: histograms on shared bins spanning the
    pooled range (``bins`` per feature, as in :func:`numpy.histogram_bin_edges`), with
    ``smoothing`` pseudo-counts added to every bin.

For the sample kinds, ``return_estimate=True`` gives an Estimate with a bootstrap error
(both samples resampled independently; the states or bins are fixed by the full data).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.special

from physgen.metrics._checks import as_pair, check_count, check_test_counts
from physgen.metrics._resampling import (
    TwoSampleTest,
    bootstrap_two_sample,
    permutation_p_value,
    resample_counts,
)
from physgen.random import as_generator
from physgen.stats import Estimate

KINDS = ("probabilities", "discrete", "continuous")
MAX_HISTOGRAM_FEATURES = 3


def _probability_vector(p, name: str) -> np.ndarray:
    a = np.asarray(p)
    if a.dtype == object or not np.issubdtype(a.dtype, np.number) or a.ndim == 0 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty numeric array of probabilities, "
                         f"got {a.dtype} with shape {a.shape}")
    a = a.astype(np.float64).ravel()
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{name} must contain finite non-negative probabilities")
    total = a.sum()
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{name} must sum to 1 (a probability vector), sums to {total:.8g}; "
                         f"for samples pass kind='discrete' or kind='continuous'")
    return a / total  # removes round-off only: the sum is already 1 within 1e-6


def _cell_codes(a: np.ndarray, b: np.ndarray, kind: str,
                bins) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer state (or histogram cell) of every sample, and the number of cells."""
    pooled = np.concatenate([a, b])
    if kind == "discrete":
        _, codes = np.unique(pooled, axis=0, return_inverse=True)
        codes = codes.ravel()
        n_cells = int(codes.max()) + 1
    else:
        if pooled.shape[1] > MAX_HISTOGRAM_FEATURES:
            raise ValueError(
                f"kind='continuous' histograms need at most {MAX_HISTOGRAM_FEATURES} features, "
                f"got {pooled.shape[1]}; reduce the data to a few features first "
                f"(e.g. physical observables or principal components)")
        indices, shape = [], []
        for j in range(pooled.shape[1]):
            edges = np.histogram_bin_edges(pooled[:, j], bins=bins)
            # np.digitize puts the maximum in an extra bin; the last bin is closed.
            index = np.clip(np.digitize(pooled[:, j], edges[1:-1]), 0, len(edges) - 2)
            indices.append(index)
            shape.append(len(edges) - 1)
        codes = np.ravel_multi_index(indices, shape)
        n_cells = int(np.prod(shape))
    return codes[:len(a)], codes[len(a):], n_cells


def _check_options(kind: str, smoothing) -> float:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    smoothing = float(smoothing)
    if not np.isfinite(smoothing) or smoothing < 0:
        raise ValueError(f"smoothing must be a finite pseudo-count ≥ 0, got {smoothing!r}")
    return smoothing


def _on_counts(formula: Callable, n_cells: int, smoothing: float):
    """The divergence as a function of two arrays of cell codes."""
    def statistic(codes_a, codes_b):
        p = np.bincount(codes_a, minlength=n_cells) + smoothing
        q = np.bincount(codes_b, minlength=n_cells) + smoothing
        return float(formula(p / p.sum(), q / q.sum()))
    return statistic


def _sample_divergence(formula: Callable, x, y, kind: str, bins, smoothing: float,
                       return_estimate: bool, n_resamples: int, seed):
    smoothing = _check_options(kind, smoothing)
    if kind == "probabilities":
        if return_estimate:
            raise ValueError("probability vectors are exact: there is no sampling error to "
                             "estimate (return_estimate needs kind='discrete' or 'continuous')")
        p, q = _probability_vector(x, "p"), _probability_vector(y, "q")
        if p.shape != q.shape:
            raise ValueError(f"p and q must have the same number of states, got {p.size} "
                             f"and {q.size}")
        return float(formula(p, q))
    a, b = as_pair(x, y, ("p", "q"), min_samples=1)
    codes_a, codes_b, n_cells = _cell_codes(a, b, kind, bins)
    statistic = _on_counts(formula, n_cells, smoothing)
    if not return_estimate:
        return statistic(codes_a, codes_b)
    return bootstrap_two_sample(statistic, codes_a, codes_b,
                                n_resamples=check_count("n_resamples", n_resamples, 2), seed=seed)


def _kl(p, q):
    return scipy.special.rel_entr(p, q).sum()


def _js(p, q):
    m = 0.5 * (p + q)
    # rel_entr is exact at p = 0; the clip only removes round-off outside [0, ln 2].
    return np.clip(0.5 * _kl(p, m) + 0.5 * _kl(q, m), 0.0, np.log(2.0))


def _tv(p, q):
    return 0.5 * np.abs(p - q).sum()


def kl_divergence(p, q, *, kind: str = "probabilities", bins=32, smoothing: float = 0.5,
                  return_estimate: bool = False, n_resamples: int = 200,
                  seed=None) -> float | Estimate:
    """Kullback–Leibler divergence KL(p ‖ q) = Σ p log(p / q) in nats.

    Parameters
    ----------
    p, q : array_like
        Probability vectors of one shape, or samples of shapes (n, ...) and (m, ...)
        (see the module docstring for ``kind``).
    kind : {"probabilities", "discrete", "continuous"}
    bins : int, str or array
        Histogram bins per feature for ``kind="continuous"``.
    smoothing : float
        Pseudo-count per state or bin for the sample kinds. The default 0.5 (the
        Krichevsky–Trofimov / Jeffreys estimate) keeps KL finite when q misses a state
        that p has; with 0 such a case gives ``inf``.
    return_estimate : bool
        For samples: return an Estimate with a bootstrap error.
    n_resamples : int
    seed : seed-like

    Returns
    -------
    float or Estimate
        ``inf`` for probability vectors where q = 0 < p.
    """
    return _sample_divergence(_kl, p, q, kind, bins, smoothing, return_estimate,
                              n_resamples, seed)


def js_divergence(p, q, *, kind: str = "probabilities", bins=32, smoothing: float = 0.0,
                  return_estimate: bool = False, n_resamples: int = 200,
                  seed=None) -> float | Estimate:
    """Jensen–Shannon divergence ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q) / 2, in nats.

    Always finite, symmetric and between 0 and ln 2. Arguments as in
    :func:`kl_divergence`, except that ``smoothing`` defaults to 0 (the plain plug-in
    estimate), since JS needs no smoothing to stay finite.
    """
    return _sample_divergence(_js, p, q, kind, bins, smoothing, return_estimate,
                              n_resamples, seed)


def total_variation(p, q, *, kind: str = "probabilities", bins=32, smoothing: float = 0.0,
                    return_estimate: bool = False, n_resamples: int = 200,
                    seed=None) -> float | Estimate:
    """Total variation distance ½ Σ |p - q|, between 0 and 1.

    Arguments as in :func:`kl_divergence`; ``smoothing`` defaults to 0.
    """
    return _sample_divergence(_tv, p, q, kind, bins, smoothing, return_estimate,
                              n_resamples, seed)


DIVERGENCES = {"kl": (_kl, 0.5), "js": (_js, 0.0), "tv": (_tv, 0.0)}


def divergence_test(p, q, *, divergence: str = "js", kind: str = "discrete", bins=32,
                    smoothing: float | None = None, n_permutations: int = 200,
                    n_resamples: int = 0, seed=None) -> TwoSampleTest:
    """Permutation test of "same distribution" with a divergence between two samples.

    The states (or histogram cells) are found once on the pooled samples; each
    permutation then only recounts them.

    Parameters
    ----------
    p, q : array_like, shapes (n, ...) and (m, ...)
        Samples (``kind`` "discrete" or "continuous", as in :func:`kl_divergence`).
    divergence : {"kl", "js", "tv"}
    kind : {"discrete", "continuous"}
    bins : int, str or array
    smoothing : float, optional
        Pseudo-count per cell; default as in the matching function (½ for KL, else 0).
    n_permutations : int
    n_resamples : int
        If positive, also a bootstrap error of the statistic.
    seed : seed-like

    Returns
    -------
    TwoSampleTest
    """
    if divergence not in DIVERGENCES:
        raise ValueError(f"divergence must be one of {tuple(DIVERGENCES)}, got {divergence!r}")
    if kind == "probabilities":
        raise ValueError("a permutation test needs samples: kind must be 'discrete' or "
                         "'continuous'")
    formula, default_smoothing = DIVERGENCES[divergence]
    smoothing = _check_options(kind, default_smoothing if smoothing is None else smoothing)
    n_permutations, n_boot = check_test_counts(n_permutations, n_resamples)
    a, b = as_pair(p, q, ("p", "q"))
    codes_a, codes_b, n_cells = _cell_codes(a, b, kind, bins)
    statistic = _on_counts(formula, n_cells, smoothing)
    rng = as_generator(seed)
    observed = statistic(codes_a, codes_b)
    pooled, m = np.concatenate([codes_a, codes_b]), len(codes_a)
    null = np.empty(n_permutations)
    for k in range(n_permutations):
        shuffled = rng.permutation(pooled)
        null[k] = statistic(shuffled[:m], shuffled[m:])
    stderr = float("nan")
    if n_boot:
        counts_a = resample_counts(rng, len(codes_a), n_boot)
        counts_b = resample_counts(rng, len(codes_b), n_boot)
        def smoothed(codes, counts):
            return _normalised(np.bincount(codes, weights=counts, minlength=n_cells) + smoothing)
        replicates = [formula(smoothed(codes_a, counts_a[r]), smoothed(codes_b, counts_b[r]))
                      for r in range(n_boot)]
        stderr = float(np.std(replicates, ddof=1))
    return TwoSampleTest(observed, permutation_p_value(observed, null), null, stderr,
                         {"divergence": divergence, "kind": kind, "smoothing": smoothing,
                          "n_cells": n_cells})


def _normalised(counts: np.ndarray) -> np.ndarray:
    return counts / counts.sum()
