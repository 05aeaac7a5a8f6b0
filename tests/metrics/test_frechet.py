"""Fréchet distance: the closed form for Gaussians and its sample version."""

import numpy as np
import pytest
import scipy.linalg

from physgen import metrics


def test_diagonal_covariances_closed_form():
    a, b = np.array([1.0, 4.0, 0.25]), np.array([2.0, 1.0, 0.25])
    m1, m2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert metrics.frechet_gaussians(m1, np.diag(a), m2, np.diag(b)) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(3))
def test_general_covariances_match_the_matrix_square_root_formula(seed):
    rng = np.random.default_rng(seed)
    d = 5
    A, B = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    c1, c2 = A @ A.T + 0.1 * np.eye(d), B @ B.T + 0.1 * np.eye(d)
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    root = scipy.linalg.sqrtm(c1 @ c2).real
    expected = np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2 * root)
    assert metrics.frechet_gaussians(m1, c1, m2, c2) == pytest.approx(expected, rel=1e-8)
    assert metrics.frechet_gaussians(m1, c1, m1, c1) == pytest.approx(0.0, abs=1e-9)


def test_samples_use_mean_and_unbiased_covariance():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(500, 4)), rng.normal(1.0, 2.0, size=(400, 4))
    expected = metrics.frechet_gaussians(x.mean(0), np.cov(x, rowvar=False),
                                         y.mean(0), np.cov(y, rowvar=False))
    assert metrics.frechet_distance(x, y) == pytest.approx(expected)
    # close to the population value: 4 · 1² + 4 · (1 - 2)²
    est = metrics.frechet_distance(x, y, return_estimate=True, n_resamples=100, seed=0)
    assert abs(est.mean - 8.0) < 4 * est.stderr + 0.1
    one = metrics.frechet_distance(rng.normal(size=300), rng.normal(3, 1, size=300))
    assert one == pytest.approx(9.0, abs=1.0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="shape"):
        metrics.frechet_gaussians(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="symmetric"):
        metrics.frechet_gaussians(np.zeros(2), np.array([[1, 2], [0, 1]]), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="same features"):
        metrics.frechet_distance(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.frechet_distance(np.zeros((1, 2)), np.zeros((5, 2)))
