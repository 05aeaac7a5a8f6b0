"""Observables and their errors against exact enumeration."""

import numpy as np
import pytest

import physgen as pg


def exact_samples(L, T, n, seed):
    ex = pg.ising.exact(L, T)
    idx = np.random.default_rng(seed).choice(len(ex.log_prob), size=n, p=np.exp(ex.log_prob))
    return ex.states[idx], ex.observables


@pytest.mark.parametrize("T", [1.5, 2.269, 3.5])
def test_observables_agree_with_enumeration(T):
    spins, exact = exact_samples(4, T, 20_000, seed=0)
    obs = pg.ising.observables(spins, temperature=T, seed=1)
    for name, value in exact.items():
        assert abs(obs[name].z_score(value)) < 4, name


def test_errors_are_calibrated_over_repeats():
    # the spread of estimates over independent repeats matches the reported errors
    T = 2.269
    estimates = [pg.ising.observables(exact_samples(4, T, 2000, seed=s)[0], temperature=T, seed=s)
                 for s in range(30)]
    for name in ("energy", "specific_heat", "binder"):
        means = np.array([e[name].mean for e in estimates])
        errors = np.array([e[name].stderr for e in estimates])
        ratio = means.std(ddof=1) / errors.mean()
        assert 0.6 < ratio < 1.5, (name, ratio)


def test_correlation_function_shape_and_limits():
    spins, _ = exact_samples(4, 2.269, 1000, seed=0)
    g = pg.ising.observables(spins, temperature=2.269)["correlation_function"]
    assert g.mean.shape == (3,) and g.mean[0] == 1.0
    assert np.all(np.diff(g.mean) <= 0)
    ordered = np.ones((10, 4, 4), np.int8)
    assert np.allclose(pg.ising.correlation_function(ordered), 1.0)


def test_without_temperature_only_temperature_free_observables():
    spins, _ = exact_samples(4, 2.269, 100, seed=0)
    obs = pg.ising.observables(spins)
    assert "specific_heat" not in obs and "energy" in obs


@pytest.mark.parametrize("spins, match", [
    (np.zeros((5, 4, 4)), "-1 and \\+1"), (np.ones((5, 4, 3)), "square"),
    (np.ones((1, 4, 4)), "n_samples ≥ 2"), (np.ones(4), "shape")])
def test_bad_spins_are_refused(spins, match):
    with pytest.raises(ValueError, match=match):
        pg.ising.observables(spins, temperature=2.0)
