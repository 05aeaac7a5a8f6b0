"""W1: SciPy's exact 1-D distance is the oracle for every path (per feature, sliced,
resampled); the permutation test's calibration."""

import numpy as np
import pytest
import scipy.stats

from physgen import metrics
from physgen.metrics.wasserstein import _PooledOrder


@pytest.mark.parametrize("n, m", [(200, 200), (301, 157), (5, 3)])
def test_one_dimension_equals_scipy(n, m):
    rng = np.random.default_rng(n)
    x, y = rng.normal(size=n), rng.exponential(size=m)
    assert metrics.wasserstein(x, y) == scipy.stats.wasserstein_distance(x, y)
    order = _PooledOrder(np.r_[x, y][:, None])
    assert order.distances(np.r_[np.ones(n), np.zeros(m)], np.r_[np.zeros(n), np.ones(m)])[0] \
        == pytest.approx(scipy.stats.wasserstein_distance(x, y), rel=1e-12)


def test_weighted_pooled_order_equals_scipy_with_weights():
    rng = np.random.default_rng(1)
    pooled = rng.normal(size=(50, 3))
    wx, wy = rng.integers(0, 4, 50).astype(float), rng.integers(0, 4, 50).astype(float)
    got = _PooledOrder(pooled).distances(wx, wy)
    for j in range(3):
        expected = scipy.stats.wasserstein_distance(pooled[:, j], pooled[:, j], wx, wy)
        assert got[j] == pytest.approx(expected, rel=1e-12)


def test_per_feature_and_sliced():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(400, 3)), rng.normal(size=(300, 3)) * [1, 2, 1]
    per = metrics.wasserstein(x, y, method="per_feature")
    assert per.shape == (3,)
    for j in range(3):
        assert per[j] == pytest.approx(scipy.stats.wasserstein_distance(x[:, j], y[:, j]))
    # sliced: the mean over directions θ of SciPy's W1 of the projections
    sliced = metrics.wasserstein(x, y, n_projections=7, seed=3)
    directions = np.random.default_rng(3).standard_normal((3, 7))
    directions /= np.linalg.norm(directions, axis=0)
    expected = np.mean([scipy.stats.wasserstein_distance(x @ d, y @ d) for d in directions.T])
    assert sliced == pytest.approx(expected, rel=1e-10)


def test_estimates_and_reproducibility():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(300, 2)), rng.normal(0.3, 1, size=(200, 2))
    a = metrics.wasserstein(x, y, return_estimate=True, n_resamples=50, seed=1)
    assert a == metrics.wasserstein(x, y, return_estimate=True, n_resamples=50, seed=1)
    assert a.mean == metrics.wasserstein(x, y, seed=1) and 0 < a.stderr < a.mean
    per = metrics.wasserstein(x, y, method="per_feature", return_estimate=True, n_resamples=50)
    assert per.mean.shape == per.stderr.shape == (2,)
    one = metrics.wasserstein(x[:, 0], y[:, 0], return_estimate=True, n_resamples=200, seed=0)
    direct = [scipy.stats.wasserstein_distance(rng.choice(x[:, 0], 300), rng.choice(y[:, 0], 200))
              for _ in range(200)]
    assert one.stderr == pytest.approx(np.std(direct, ddof=1), rel=0.3)


def test_permutation_test_is_calibrated_and_detects():
    rng = np.random.default_rng(5)
    p = [metrics.wasserstein_test(rng.normal(size=(80, 3)), rng.normal(size=(80, 3)),
                                  n_projections=10, n_permutations=49, seed=k).p_value
         for k in range(50)]
    assert scipy.stats.kstest(p, "uniform").pvalue > 0.001
    x, y = rng.normal(size=200), rng.normal(0.5, 1, size=200)
    t = metrics.wasserstein_test(x, y, n_permutations=99, n_resamples=20, seed=0)
    assert t.p_value == pytest.approx(0.01)
    assert t.statistic == pytest.approx(metrics.wasserstein(x, y), rel=1e-12)
    assert np.isfinite(t.stderr) and t.details["method"] == "per_feature"


def test_bad_inputs():
    with pytest.raises(ValueError, match="method"):
        metrics.wasserstein(np.zeros(5), np.ones(5), method="exact")
    with pytest.raises(ValueError, match="same features"):
        metrics.wasserstein(np.zeros((5, 2)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.wasserstein(np.zeros(5), np.r_[np.ones(4), np.inf])
    with pytest.raises(ValueError, match="n_projections"):
        metrics.wasserstein(np.zeros((5, 2)), np.ones((5, 2)), n_projections=0)
