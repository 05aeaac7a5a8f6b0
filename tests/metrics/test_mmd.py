"""MMD: blockwise PyTorch against a direct NumPy formula, the permutation test's
calibration and power, the bootstrap, and KID."""

import numpy as np
import pytest
import scipy.stats
from scipy.spatial.distance import cdist, pdist

import physgen as pg
from physgen import metrics


def _direct_mmd2(x, y, bandwidths):
    """The textbook unbiased MMD², full kernel matrices in float64."""
    def k(a, b):
        d2 = cdist(a, b, "sqeuclidean")
        return sum(np.exp(-d2 / (2 * s**2)) for s in bandwidths)
    m, n = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean())


@pytest.mark.parametrize("bandwidth, block_size", [
    (1.3, 64), ([0.5, 2.0, 4.0], 100), (2.0, 4096),
    (0.25, 128),  # c ‖x‖²/2 > FACTOR_LIMIT: the explicit-exponent path
])
def test_blockwise_equals_direct(bandwidth, block_size):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(301, 6)), rng.normal(0.2, 1.1, size=(257, 6))
    expected = _direct_mmd2(x, y, np.atleast_1d(bandwidth))
    assert metrics.mmd(x, y, bandwidth=bandwidth, block_size=block_size, dtype="float64") \
        == pytest.approx(expected, rel=1e-10, abs=1e-14)
    assert metrics.mmd(x, y, bandwidth=bandwidth, block_size=block_size) \
        == pytest.approx(expected, rel=1e-4, abs=1e-7)


def test_median_heuristic_and_self_comparison():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = rng.normal(size=(150, 3))
    sigma = np.sqrt(np.median(pdist(np.r_[x, y], "sqeuclidean")))
    assert metrics.median_bandwidth(x, y) == pytest.approx(sigma)
    assert metrics.mmd(x, y, seed=0) == pytest.approx(_direct_mmd2(x, y, [sigma]),
                                                      rel=1e-4, abs=1e-7)
    # MMD² of a sample with itself: the unbiased estimate is ≤ 0 (equality only if constant)
    assert metrics.mmd(x, x, bandwidth=1.0, dtype="float64") < 0
    spins = np.ones((10, 4, 4))
    assert metrics.median_bandwidth(spins, spins) == 1.0  # all samples equal: any bandwidth


def test_inputs_are_not_modified_and_shapes_are_flattened():
    rng = np.random.default_rng(2)
    x = rng.choice([-1, 1], size=(60, 4, 4)).astype(np.int8)
    y = rng.choice([-1, 1], size=(50, 4, 4)).astype(np.int8)
    x0 = x.copy()
    value = metrics.mmd(x, y, bandwidth=3.0)
    assert np.array_equal(x, x0)
    assert value == pytest.approx(_direct_mmd2(x.reshape(60, -1), y.reshape(50, -1), [3.0]),
                                  rel=1e-4, abs=1e-7)


def test_permutation_null_and_bootstrap_replicates_match_direct_recomputation():
    from physgen.metrics.mmd import _mmd_pass

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(30, 2))
    statistic, null, boot = _mmd_pass(x, y, (1.0,), n_permutations=3, n_resamples=3,
                                      rng=np.random.default_rng(7), block_size=16, dtype="float64")
    replay = np.random.default_rng(7)
    pooled = np.r_[x, y]
    for k in range(3):
        chosen = replay.permutation(70)[:40]
        mask = np.zeros(70, bool)
        mask[chosen] = True
        assert null[k] == pytest.approx(_direct_mmd2(pooled[mask], pooled[~mask], [1.0]), rel=1e-10)
    from physgen.metrics._resampling import resample_counts
    ca, cb = resample_counts(replay, 40, 3), resample_counts(replay, 30, 3)
    for r in range(3):
        xs, ys = np.repeat(x, ca[r], axis=0), np.repeat(y, cb[r], axis=0)
        # pairs of distinct draws: a point drawn twice pairs with itself (k = 1)
        assert boot[r] == pytest.approx(_direct_mmd2(xs, ys, [1.0]), rel=1e-10)
    assert statistic == pytest.approx(_direct_mmd2(x, y, [1.0]), rel=1e-10)


def test_estimate_is_reproducible():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(120, 3)), rng.normal(0.5, 1, size=(100, 3))
    a = metrics.mmd(x, y, seed=5, return_estimate=True, n_resamples=30)
    b = metrics.mmd(x, y, seed=5, return_estimate=True, n_resamples=30)
    assert a == b and a.stderr > 0
    assert a.mean == pytest.approx(metrics.mmd(x, y, seed=5), rel=1e-6)


def test_mmd_test_p_values_are_uniform_under_the_null():
    rng = np.random.default_rng(5)
    p = [metrics.mmd_test(rng.normal(size=(60, 4)), rng.normal(size=(60, 4)),
                          n_permutations=49, seed=k).p_value for k in range(60)]
    assert scipy.stats.kstest(p, "uniform").pvalue > 0.001
    assert min(p) >= 1 / 50


def test_mmd_test_detects_a_clear_shift():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(300, 16))
    y = rng.normal(size=(300, 16))
    y[:, 0] += 0.8
    result = metrics.mmd_test(x, y, n_permutations=99, n_resamples=20, seed=0)
    assert result.p_value == pytest.approx(0.01)
    assert result.statistic > 0 and result.stderr > 0 and result.n_permutations == 99
    assert result.estimate.mean == result.statistic


def test_kernel_distance_is_an_unbiased_polynomial_mmd():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(80, 3)), rng.normal(size=(80, 3))
    est = metrics.kernel_distance(x, y, n_subsets=5, subset_size=80, seed=0)
    # with subsets as large as the samples every subset is the whole sample
    k = lambda a, b: (a @ b.T / 3 + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    expected = ((kxx.sum() - np.trace(kxx)) / (80 * 79) + (kyy.sum() - np.trace(kyy)) / (80 * 79)
                - 2 * kxy.mean())
    assert est.mean == pytest.approx(expected, rel=1e-10)
    assert est.stderr == pytest.approx(0.0, abs=1e-9)
    null = [metrics.kernel_distance(rng.normal(size=(200, 3)), rng.normal(size=(200, 3)),
                                    n_subsets=10, subset_size=100, seed=s).mean for s in range(20)]
    assert abs(np.mean(null)) < 3 * np.std(null) / np.sqrt(20) + 1e-3


@pytest.mark.parametrize("kwargs, message", [
    ({"bandwidth": -1.0}, "bandwidth"), ({"bandwidth": "wide"}, "bandwidth"),
    ({"bandwidth": []}, "bandwidth"), ({"dtype": "float16"}, "dtype"),
    ({"block_size": 0}, "block_size"),
])
def test_bad_settings(kwargs, message):
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match=message):
        metrics.mmd(x, x + 1, **kwargs)


def test_bad_inputs():
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="same features"):
        metrics.mmd(x, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.mmd_test(x, np.full((5, 2), np.nan))
    with pytest.raises(ValueError, match="empty"):
        metrics.mmd(np.zeros((0, 2)), x)
    with pytest.raises(ValueError, match="n_permutations"):
        metrics.mmd_test(x, x, n_permutations=0)


# --- slow: calibration and power at full size ---------------------------------------

@pytest.mark.slow
def test_detects_a_tenth_sigma_shift_in_one_of_16_dimensions_at_n_20000():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(20_000, 16))
    y = rng.normal(size=(20_000, 16))
    y[:, 3] += 0.1
    result = metrics.mmd_test(x, y, n_permutations=100, seed=0)
    assert result.p_value <= 1 / 101 + 1e-12


@pytest.mark.slow
def test_gaussian_calibration_at_n_2000_over_seeds():
    rng = np.random.default_rng(9)
    p = [metrics.mmd_test(rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16)),
                          n_permutations=99, seed=k).p_value for k in range(50)]
    assert scipy.stats.kstest(p, "uniform").pvalue > 0.001


@pytest.mark.slow
def test_ising_calibration_and_detection_at_the_critical_point():
    L, n = 16, 2000
    p = []
    for k in range(20):
        a = pg.ising.sample(L=L, temperature=2.269, n_samples=n, seed=2 * k)
        b = pg.ising.sample(L=L, temperature=2.269, n_samples=n, seed=2 * k + 1)
        p.append(metrics.mmd_test(a, b, n_permutations=99, seed=k).p_value)
    assert scipy.stats.kstest(p, "uniform").pvalue > 0.001
    a = pg.ising.sample(L=L, temperature=2.269, n_samples=5000, seed=100)
    b = pg.ising.sample(L=L, temperature=2.35, n_samples=5000, seed=101)
    assert metrics.mmd_test(a, b, n_permutations=99, seed=0).p_value <= 0.01
