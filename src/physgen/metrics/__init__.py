"""Judging samples: divergences, two-sample tests and distances. Pure functions.

Arrays in, numbers out: samples have shape (n_samples, ...) and are flattened to feature
vectors; inputs are never modified; randomness comes only from ``seed``.

Errors: every metric that estimates from samples takes ``return_estimate=True`` and then
returns a :class:`physgen.stats.Estimate` (value on the full samples, bootstrap standard
error from ``n_resamples`` independent resamples of each sample, fixed by ``seed``).
Exceptions, stated in their docstrings: :func:`precision_recall` (closed-form error of
a fraction), :func:`kernel_distance` (median ± spread over subsets) and :func:`c2st`
(cross-validated AUC with its Hanley–McNeil error). The tests (:func:`mmd_test`,
:func:`wasserstein_test`, :func:`divergence_test`, :func:`permutation_test`) return a
:class:`TwoSampleTest` with ``statistic`` and a permutation ``p_value``.

>>> import physgen as pg
>>> pg.metrics.mmd(X, Y, seed=0)                      # unbiased MMD², Gaussian kernel
>>> pg.metrics.mmd_test(X, Y, n_permutations=200, seed=0).p_value
>>> pg.metrics.js_divergence(p, q)                    # probability vectors, nats
>>> pg.metrics.js_divergence(E_real, E_fake, kind="discrete")   # samples of states
>>> pg.metrics.wasserstein(x, y, return_estimate=True, seed=0)
"""

from physgen.metrics._resampling import (
    TwoSampleTest,
    bootstrap_two_sample,
    permutation_p_value,
    permutation_test,
)
from physgen.metrics.c2st import C2STResult, c2st
from physgen.metrics.divergences import (
    divergence_test,
    js_divergence,
    kl_divergence,
    total_variation,
)
from physgen.metrics.frechet import frechet_distance, frechet_gaussians
from physgen.metrics.mmd import kernel_distance, median_bandwidth, mmd, mmd_test
from physgen.metrics.precision_recall import (
    PrecisionRecall,
    precision_recall,
    precision_recall_test,
)
from physgen.metrics.wasserstein import wasserstein, wasserstein_test

__all__ = [
    "C2STResult", "PrecisionRecall", "TwoSampleTest", "bootstrap_two_sample", "c2st",
    "divergence_test",
    "frechet_distance", "frechet_gaussians", "js_divergence", "kernel_distance",
    "kl_divergence", "median_bandwidth", "mmd", "mmd_test", "permutation_p_value",
    "permutation_test", "precision_recall", "precision_recall_test", "total_variation",
    "wasserstein",
    "wasserstein_test",
]
