"""KL, JS and total variation against SciPy and hand counts; their permutation test."""

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

from physgen import metrics


def _dirichlet(seed, k=12):
    return np.random.default_rng(seed).dirichlet(np.ones(k))


@pytest.mark.parametrize("seed", range(5))
def test_probability_vectors_match_scipy(seed):
    p, q = _dirichlet(seed), _dirichlet(seed + 100)
    assert metrics.kl_divergence(p, q) == pytest.approx(scipy.stats.entropy(p, q), rel=1e-12)
    assert metrics.js_divergence(p, q) == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-10)
    assert metrics.total_variation(p, q) == pytest.approx(0.5 * np.abs(p - q).sum(), rel=1e-12)


def test_extremes():
    p, q = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert metrics.js_divergence(p, q) == pytest.approx(np.log(2))
    assert metrics.total_variation(p, q) == pytest.approx(1.0)
    assert metrics.kl_divergence(p, q) == np.inf
    assert metrics.kl_divergence(p, p) == 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 10), min_size=2, max_size=8), st.integers(0, 2**31 - 1))
def test_js_is_bounded_by_log_2_and_symmetric(weights, seed):
    w = np.asarray(weights)
    if w.sum() == 0:
        w = np.ones_like(w)
    p = w / w.sum()
    q = np.random.default_rng(seed).dirichlet(np.ones(len(p)) * 0.3)
    js = metrics.js_divergence(p, q)
    assert 0.0 <= js <= np.log(2) + 1e-15
    assert js == pytest.approx(metrics.js_divergence(q, p), abs=1e-14)
    assert 0.0 <= metrics.total_variation(p, q) <= 1.0


def test_discrete_samples_count_states_with_stated_smoothing():
    x = np.array([[0, 1], [0, 1], [1, 1], [0, 1]])      # states A=(0,1) x3, B=(1,1) x1
    y = np.array([[1, 1], [1, 1], [2, 2]])              # B x2, C=(2,2) x1
    # union of states {A, B, C}; KL default smoothing ½ per state
    p = (np.array([3, 1, 0]) + 0.5) / (4 + 1.5)
    q = (np.array([0, 2, 1]) + 0.5) / (3 + 1.5)
    assert metrics.kl_divergence(x, y, kind="discrete") == pytest.approx(scipy.stats.entropy(p, q))
    p0, q0 = np.array([3, 1, 0]) / 4, np.array([0, 2, 1]) / 3
    assert metrics.js_divergence(x, y, kind="discrete") == pytest.approx(jensenshannon(p0, q0) ** 2)
    assert metrics.total_variation(x, y, kind="discrete") == pytest.approx(
        0.5 * np.abs(p0 - q0).sum())
    assert metrics.kl_divergence(x, y, kind="discrete", smoothing=0) == np.inf


def test_continuous_samples_use_shared_histogram_bins():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=500), rng.normal(0.5, 1.0, size=400)
    edges = np.histogram_bin_edges(np.r_[x, y], bins=10)
    p = np.histogram(x, edges)[0] / len(x)
    q = np.histogram(y, edges)[0] / len(y)
    assert metrics.js_divergence(x, y, kind="continuous", bins=10) == pytest.approx(
        jensenshannon(p, q) ** 2)
    pk, qk = (np.histogram(v, edges)[0] + 0.5 for v in (x, y))
    assert metrics.kl_divergence(x, y, kind="continuous", bins=10) == pytest.approx(
        scipy.stats.entropy(pk / pk.sum(), qk / qk.sum()))
    # 2-D histograms; more than 3 features is refused with advice
    xy = rng.normal(size=(300, 2))
    assert 0 <= metrics.total_variation(xy, xy + 0.3, kind="continuous", bins=5) <= 1
    with pytest.raises(ValueError, match="at most 3 features"):
        metrics.js_divergence(rng.normal(size=(10, 4)), rng.normal(size=(10, 4)), kind="continuous")


def test_sample_estimates_carry_bootstrap_errors():
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 6, size=400), rng.integers(0, 6, size=300)
    est = metrics.js_divergence(x, y, kind="discrete", return_estimate=True, seed=0)
    assert est.mean == metrics.js_divergence(x, y, kind="discrete")
    assert 0 < est.stderr < 0.05
    again = metrics.js_divergence(x, y, kind="discrete", return_estimate=True, seed=0)
    assert again == est
    with pytest.raises(ValueError, match="exact"):
        metrics.kl_divergence(_dirichlet(0), _dirichlet(1), return_estimate=True)


def test_divergence_test_is_calibrated_and_detects():
    rng = np.random.default_rng(2)
    p_null = [metrics.divergence_test(rng.integers(0, 8, 150), rng.integers(0, 8, 150),
                                      n_permutations=99, seed=k).p_value for k in range(40)]
    assert scipy.stats.kstest(p_null, "uniform").pvalue > 0.001
    shifted = metrics.divergence_test(rng.integers(0, 8, 300), rng.integers(1, 9, 300),
                                      divergence="tv", n_permutations=99, n_resamples=20, seed=0)
    assert shifted.p_value == pytest.approx(0.01) and np.isfinite(shifted.stderr)
    # the observed statistic is the plain function's value
    a, b = rng.normal(size=200), rng.normal(size=200)
    t = metrics.divergence_test(a, b, divergence="kl", kind="continuous", bins=8, n_permutations=5)
    assert t.statistic == pytest.approx(metrics.kl_divergence(a, b, kind="continuous", bins=8))


@pytest.mark.parametrize("p, q, message", [
    ([0.5, 0.6], [0.5, 0.5], "sum to 1"),
    ([0.5, 0.5], [0.2, 0.3, 0.5], "same number of states"),
    ([-0.5, 1.5], [0.5, 0.5], "non-negative"),
    ([np.nan, 1.0], [0.5, 0.5], "non-negative"),
    ([], [], "non-empty"),
])
def test_bad_probability_vectors(p, q, message):
    with pytest.raises(ValueError, match=message):
        metrics.js_divergence(p, q)


def test_bad_samples_and_options():
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="same features"):
        metrics.kl_divergence(x, np.zeros((5, 3)), kind="discrete")
    with pytest.raises(ValueError, match="NaN"):
        metrics.total_variation(x, np.full((5, 2), np.nan), kind="discrete")
    with pytest.raises(ValueError, match="kind"):
        metrics.js_divergence(x, x, kind="samples")
    with pytest.raises(ValueError, match="smoothing"):
        metrics.kl_divergence(x, x, kind="discrete", smoothing=-1)
    with pytest.raises(ValueError, match="empty"):
        metrics.js_divergence(np.zeros((0, 2)), x, kind="discrete")
