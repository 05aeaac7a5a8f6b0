"""Every public metric refuses bad samples with a message naming the problem."""

import numpy as np
import pytest

from physgen import metrics
from physgen.metrics._resampling import permutation_p_value, resample_counts

SAMPLE_METRICS = [
    lambda x, y: metrics.mmd(x, y),
    lambda x, y: metrics.mmd_test(x, y, n_permutations=5),
    lambda x, y: metrics.wasserstein(x, y),
    lambda x, y: metrics.wasserstein_test(x, y, n_permutations=5),
    lambda x, y: metrics.frechet_distance(x, y),
    lambda x, y: metrics.c2st(x, y),
    lambda x, y: metrics.precision_recall(x, y),
    lambda x, y: metrics.precision_recall_test(x, y, n_permutations=5),
    lambda x, y: metrics.kernel_distance(x, y),
    lambda x, y: metrics.js_divergence(x, y, kind="discrete"),
    lambda x, y: metrics.divergence_test(x, y),
    lambda x, y: metrics.permutation_test(metrics.frechet_distance, x, y, n_permutations=5),
]
GOOD = np.zeros((20, 3))


@pytest.mark.parametrize("metric", SAMPLE_METRICS)
@pytest.mark.parametrize("bad, message", [
    (np.zeros((20, 4)), "same features"),
    (np.zeros((0, 3)), "empty"),
    (np.r_[np.zeros((19, 3)), [[0, np.nan, 0]]], "NaN"),
    (np.array([["a", "b", "c"]] * 20), "numeric"),
])
def test_bad_samples(metric, bad, message):
    with pytest.raises(ValueError, match=message):
        metric(GOOD, bad)


def test_permutation_p_value_counts_the_observation():
    assert permutation_p_value(1.0, [0.5, 2.0, 1.0, 0.1]) == 3 / 5
    assert permutation_p_value(5.0, np.zeros(99)) == 0.01


def test_resample_counts_are_bootstrap_multiplicities():
    counts = resample_counts(np.random.default_rng(0), 50, 2000)
    assert counts.shape == (2000, 50) and np.all(counts.sum(axis=1) == 50)
    # each multiplicity is Binomial(50, 1/50): mean 1, variance 49/50
    assert counts.mean() == pytest.approx(1.0)
    assert counts.var() == pytest.approx(0.98, rel=0.05)
