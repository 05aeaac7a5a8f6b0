"""K-means and agglomerative clustering; occupancy tests; phases of Ising samples."""

import numpy as np
import pytest
import scipy.cluster.hierarchy
import scipy.stats

import physgen as pg
from physgen import analysis


def _blobs(rng, n=100):
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    return np.concatenate([c + rng.normal(size=(n, 2)) for c in centres]), np.repeat([0, 1, 2], n)


def _same_partition(a, b):
    return np.array_equal(a[:, None] == a[None, :], b[:, None] == b[None, :])


def test_kmeans_recovers_separated_blobs_and_assigns_new_points():
    rng = np.random.default_rng(0)
    x, truth = _blobs(rng)
    result = analysis.kmeans(x, 3, seed=0)
    assert _same_partition(result.labels, truth)
    assert np.array_equal(result.assign(x), result.labels)
    assert np.array_equal(analysis.kmeans(x, 3, seed=0).labels, result.labels)


def test_single_linkage_follows_chains_complete_linkage_does_not():
    # two long parallel lines 3 apart, points 0.5 apart along each line
    t = np.arange(0, 40, 0.5)
    x = np.r_[np.c_[t, np.zeros_like(t)], np.c_[t, np.full_like(t, 3.0)]]
    line = np.repeat([0, 1], len(t))
    single = analysis.hierarchical(x, 2, method="single")
    complete = analysis.hierarchical(x, 2, method="complete")
    assert _same_partition(single.labels, line)
    assert not _same_partition(complete.labels, line)
    expected = scipy.cluster.hierarchy.linkage(x, method="single")
    assert np.allclose(single.linkage, expected)
    assert np.bincount(single.labels).tolist() == [80, 80]


def test_occupancy_matches_scipy_contingency():
    a, b = np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 1, 2])
    result = analysis.compare_occupancy(a, b, 3)
    table = np.array([[2, 1, 3], [1, 3, 1]])
    chi2, p, _, _ = scipy.stats.chi2_contingency(table, correction=False)
    assert result.statistic == pytest.approx(chi2) and result.p_value == pytest.approx(p)
    assert np.allclose(result.fractions_x, [2 / 6, 1 / 6, 3 / 6])
    with pytest.raises(ValueError, match="integers in 0 .. 2"):
        analysis.compare_occupancy(np.array([0, 3]), b, 3)


def test_ising_phases_compared_between_temperatures():
    cold = pg.ising.sample(L=10, temperature=1.8, n_samples=300, seed=1)
    cold2 = pg.ising.sample(L=10, temperature=1.8, n_samples=300, seed=2)
    hot = pg.ising.sample(L=10, temperature=3.5, n_samples=300, seed=3)
    same = analysis.compare_phases(cold, cold2, n_clusters=3, max_hierarchical=150, seed=0)
    assert same.occupancy.p_value > 0.001
    assert set(same.order_parameter_correlation) == {"real", "fake"}
    differ = analysis.compare_phases(cold, hot, n_clusters=3, max_hierarchical=150, seed=0)
    assert differ.occupancy.p_value < 1e-6
    assert differ.explained_variance_real[0] > 0.5 > differ.explained_variance_fake[0]
    assert set(differ.hierarchical) == {"single", "complete"}
    # the two ordered phases (m > 0, m < 0) land in different K-means clusters
    m = cold.mean(axis=(1, 2))
    labels = same.labels_real
    assert not set(labels[m > 0.5]) & set(labels[m < -0.5])


def test_occupancy_test_is_calibrated_under_the_null():
    rng = np.random.default_rng(4)
    p = []
    for k in range(30):
        # a two-component mixture, each sample drawing its component at random
        mix = lambda n: rng.normal(size=(n, 3)) + 3 * (rng.random((n, 1)) < 0.5)  # noqa: E731
        x, y = mix(120), mix(100)
        p.append(analysis.compare_phases(x, y, n_clusters=3, linkages=(), seed=k).occupancy.p_value)
    assert scipy.stats.kstest(p, "uniform").pvalue > 0.001


def test_bad_inputs():
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="n_clusters"):
        analysis.kmeans(x, 6)
    with pytest.raises(ValueError, match="method"):
        analysis.hierarchical(x, 2, method="median")
    with pytest.raises(ValueError, match="same features"):
        analysis.compare_phases(x, np.zeros((5, 3)))
