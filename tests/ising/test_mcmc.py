"""Samplers against exact enumeration and Kaufman's finite-torus results."""

import numpy as np
import pytest
import scipy.stats

import physgen as pg


def chi_square_p_value(states_seen, exact) -> float:
    """Chi-square goodness of fit of sampled states to the exact distribution.

    States with expected count below 5 are pooled into one bin.
    """
    counts = np.bincount(exact.index(states_seen), minlength=len(exact.log_prob))
    expected = np.exp(exact.log_prob) * len(states_seen)
    big = expected >= 5
    observed = np.append(counts[big], counts[~big].sum())
    expected = np.append(expected[big], expected[~big].sum())
    if expected[-1] == 0:
        observed, expected = observed[:-1], expected[:-1]
    return scipy.stats.chisquare(observed, expected).pvalue


def independent_chains(L, n_chains, seed):
    return np.random.default_rng(seed).choice(np.array([-1, 1], np.int8), size=(n_chains, L, L))


@pytest.mark.parametrize("L", [3, 4])
@pytest.mark.parametrize("T", [1.5, 2.269, 3.5])
@pytest.mark.parametrize("algorithm", ["metropolis", "wolff"])
def test_state_histogram_matches_enumeration(L, T, algorithm):
    # one sample per independent chain, so the counts are exactly multinomial
    spins = independent_chains(L, 40_000, seed=1)
    if algorithm == "metropolis":
        acceptance = pg.ising.metropolis(spins, T, n_sweeps=150, seed=2)
        assert 0 < acceptance < 1
    else:
        pg.ising.wolff(spins, T, n_clusters=60, seed=2)
    p_value = chi_square_p_value(spins, pg.ising.exact(L, T))
    assert p_value > 1e-3


def test_ring_matches_enumeration():
    spins = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), size=(40_000, 6))
    pg.ising.metropolis(spins, 1.4, n_sweeps=100, seed=1, dim=1)
    assert chi_square_p_value(spins, pg.ising.exact(6, 1.4, dim=1)) > 1e-3
    odd = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), size=(40_000, 5))
    pg.ising.wolff(odd, 1.4, n_clusters=40, seed=1, dim=1)
    assert chi_square_p_value(odd, pg.ising.exact(5, 1.4, dim=1)) > 1e-3


def test_field_matches_enumeration():
    spins = independent_chains(4, 40_000, seed=3)
    pg.ising.metropolis(spins, 2.5, n_sweeps=100, seed=4, h=0.3)
    assert chi_square_p_value(spins, pg.ising.exact(4, 2.5, h=0.3)) > 1e-3


@pytest.mark.parametrize("L, algorithm, n_samples", [
    (16, "wolff", 4000), (16, "metropolis", 4000), (32, "wolff", 2000),
    pytest.param(32, "metropolis", 2000, marks=pytest.mark.slow)])
def test_energy_and_specific_heat_match_kaufman(L, algorithm, n_samples):
    T = 2.269
    run = pg.ising.simulate(L, T, n_samples, algorithm=algorithm, seed=11)
    obs = pg.ising.observables(run.spins, temperature=T, seed=0)
    exact = pg.ising.kaufman(L, T)
    assert abs(obs["energy"].z_score(exact["energy"])) < 4
    assert abs(obs["specific_heat"].z_score(exact["specific_heat"])) < 4
    assert np.allclose(run.energy, pg.ising.energies(run.spins) / L**2)


def test_simulate_reports_its_choices_and_is_reproducible():
    a = pg.ising.simulate(8, 2.27, 300, seed=5)
    b = pg.ising.simulate(8, 2.27, 300, seed=5)
    assert a.spins.tobytes() == b.spins.tobytes()
    assert a.spins.shape == (300, 8, 8) and a.spins.dtype == np.int8
    meta = a.metadata
    tau = max(meta["tau_int"].values())
    assert meta["burn_in"] >= 20 * tau and meta["thinning"] >= 2 * tau
    assert meta["algorithm"] == "wolff" and meta["seed"] == 5 and meta["tau_converged"]
    assert a.tau_int == meta["tau_int"]
    c = pg.ising.simulate(8, 2.27, 300, seed=6)
    assert a.spins.tobytes() != c.spins.tobytes()


def test_auto_picks_metropolis_far_above_tc_and_with_field():
    assert pg.ising.simulate(6, 4.0, 10, seed=0).metadata["algorithm"] == "metropolis"
    assert pg.ising.simulate(6, 2.0, 10, h=0.1, seed=0).metadata["algorithm"] == "metropolis"


def test_sample_shapes_and_ring():
    assert pg.ising.sample(L=6, temperature=2.0, n_samples=7, seed=0).shape == (7, 6, 6)
    ring = pg.ising.sample(L=10, temperature=1.0, n_samples=5, dim=1, seed=0)
    assert ring.shape == (5, 10) and set(np.unique(ring)) <= {-1, 1}


def test_sample_grid_labels():
    spins, temps = pg.ising.sample_grid(6, [1.5, 3.5], 20, seed=0)
    assert spins.shape == (40, 6, 6) and temps.shape == (40,)
    assert np.all(temps[:20] == 1.5) and np.all(temps[20:] == 3.5)
    m = np.abs(spins.mean(axis=(1, 2)))
    assert m[:20].mean() > m[20:].mean()


@pytest.mark.parametrize("call, match", [
    (lambda: pg.ising.metropolis(np.ones((2, 4, 4)), 2.0), "int8"),
    (lambda: pg.ising.metropolis(np.zeros((2, 4, 4), np.int8), 2.0), "-1 and \\+1"),
    (lambda: pg.ising.metropolis(np.ones((2, 4, 4), np.int8), -2.0), "temperature"),
    (lambda: pg.ising.metropolis(np.ones((2, 4, 4), np.int8), 2.0, n_sweeps=0), "n_sweeps"),
    (lambda: pg.ising.wolff(np.ones((2, 4, 4), np.int8), 2.0, J=-1.0), "J > 0"),
    (lambda: pg.ising.simulate(4, float("nan"), 10), "temperature"),
    (lambda: pg.ising.simulate(4, 2.0, 0), "n_samples"),
    (lambda: pg.ising.simulate(4, 2.0, 10, algorithm="heatbath"), "algorithm"),
    (lambda: pg.ising.simulate(4, 2.0, 10, algorithm="wolff", h=0.5), "h = 0"),
    (lambda: pg.ising.simulate(1, 2.0, 10), "L must be at least 2"),
])
def test_bad_input_is_refused_clearly(call, match):
    with pytest.raises(ValueError, match=match):
        call()
