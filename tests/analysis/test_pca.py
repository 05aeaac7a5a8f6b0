"""PCA of configurations: scikit-learn/NumPy oracles and the Ising order parameter."""

import numpy as np
import pytest

import physgen as pg
from physgen import analysis


def test_matches_numpy_svd():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5))
    result = analysis.pca(x, n_components=3)
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    assert np.allclose(result.explained_variance_ratio, (s**2 / np.sum(s**2))[:3])
    assert np.allclose(np.abs(result.components), np.abs(vt[:3]), atol=1e-8)
    assert np.allclose(result.transform(x), result.scores)
    # fewer than 10 samples per feature: the SVD solver, same oracle
    few = analysis.pca(x[:40], n_components=3)
    _, s_few, vt_few = np.linalg.svd(x[:40] - x[:40].mean(axis=0), full_matrices=False)
    assert np.allclose(few.explained_variance_ratio, (s_few**2 / np.sum(s_few**2))[:3])
    assert np.allclose(np.abs(few.components), np.abs(vt_few[:3]), atol=1e-8)


def test_order_parameter_across_the_transition():
    spins, _ = pg.ising.sample_grid(12, np.linspace(1.5, 3.5, 9), 60, seed=0)
    result = analysis.pca(spins, n_components=2)
    abs_m = np.abs(spins.mean(axis=(1, 2)))
    assert analysis.order_parameter_correlation(result.scores, abs_m) >= 0.95
    # PC1 is (nearly) the uniform direction: magnetisation is the order parameter
    assert np.abs(result.components[0]).min() > 0.5 / 12


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_components"):
        analysis.pca(np.zeros((5, 3)), n_components=4)
    with pytest.raises(ValueError, match="NaN"):
        analysis.pca(np.full((5, 3), np.nan))
    fitted = analysis.pca(np.random.default_rng(0).normal(size=(10, 3)), 2)
    with pytest.raises(ValueError, match="features"):
        fitted.transform(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="same n"):
        analysis.order_parameter_correlation(np.zeros((5, 2)), np.zeros(4))
    assert np.isnan(analysis.order_parameter_correlation(np.ones((5, 2)), np.arange(5)))
