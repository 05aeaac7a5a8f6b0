"""Exact results against each other and against REFERENCE.md's independent numbers."""

import numpy as np
import pytest

import physgen as pg
from physgen.ising.exact import energies, kaufman_log_z


@pytest.mark.parametrize("T, log_z", [(1.5, 22.1170139117), (2.269, 15.5228170959),
                                      (3.5, 12.6004380253)])
def test_kaufman_equals_enumeration_at_L4(T, log_z):
    enumerated = pg.ising.exact(4, T)
    assert enumerated.log_z == pytest.approx(log_z, abs=1e-9)
    assert pg.ising.kaufman_log_z(4, T) == pytest.approx(enumerated.log_z, abs=1e-10)
    kaufman = pg.ising.kaufman(4, T)
    assert kaufman["energy"] == pytest.approx(enumerated.observables["energy"], abs=1e-8)
    assert kaufman["specific_heat"] == pytest.approx(enumerated.observables["specific_heat"], abs=1e-6)


def test_kaufman_on_odd_and_rectangular_tori_equals_enumeration():
    for rows, cols in [(3, 3), (3, 5), (4, 5)]:
        codes = np.arange(2 ** (rows * cols))
        shifts = np.arange(rows * cols - 1, -1, -1)
        spins = (2 * ((codes[:, None] >> shifts) & 1) - 1).reshape(-1, rows, cols)
        log_z = np.logaddexp.reduce(-energies(spins) / 2.0)
        assert kaufman_log_z(rows, 2.0, n_cols=cols) == pytest.approx(log_z, abs=1e-10)


@pytest.mark.parametrize("L, T, energy", [(16, 2.269, -1.4533425), (32, 2.269, -1.4340006),
                                          (64, 2.269, -1.4243445), (24, 2.4, -1.2249784)])
def test_kaufman_energy_matches_reference(L, T, energy):
    assert pg.ising.kaufman(L, T)["energy"] == pytest.approx(energy, abs=2e-7)


def test_onsager_reference_values():
    assert pg.ising.onsager_energy(1.5) == pytest.approx(-1.9511166, abs=1e-7)
    assert pg.ising.onsager_energy(3.5) == pytest.approx(-0.6601217, abs=1e-7)
    assert pg.ising.onsager_energy(pg.ising.T_C) == pytest.approx(-np.sqrt(2), abs=1e-12)
    assert pg.ising.onsager_magnetization(1.8) == pytest.approx(0.956857, abs=1e-6)
    assert pg.ising.onsager_magnetization(2.5) == 0.0
    assert pg.ising.T_C == pytest.approx(2.269185314, abs=1e-9)


@pytest.mark.parametrize("row", [
    (1.000, -1.9972, 0.9993, 0.0234, 0.0016), (2.269, -1.5658, 0.8439, 0.7832, 0.3472),
    (3.540, -0.7614, 0.4815, 0.3618, 0.3750)])
def test_enumeration_matches_reference_table(row):
    T, e, m, c, chi = row
    obs = pg.ising.exact(4, T).observables
    assert obs["energy"] == pytest.approx(e, abs=1e-4)
    assert obs["abs_magnetization"] == pytest.approx(m, abs=1e-4)
    assert obs["specific_heat"] == pytest.approx(c, abs=1e-4)
    assert obs["susceptibility"] == pytest.approx(chi, abs=1e-4)


def test_ring_nearest_neighbour_correlation():
    ring = pg.ising.exact(6, 1.4, dim=1)
    assert ring.states.shape == (64, 6)
    p = np.exp(ring.log_prob)
    nn = (ring.states * np.roll(ring.states, -1, axis=1)).mean(axis=1)
    assert p @ nn == pytest.approx(0.664771, abs=1e-6)


def test_state_index_round_trip():
    e = pg.ising.exact(3, 2.0)
    idx = np.array([0, 5, 511])
    assert np.array_equal(e.index(e.states[idx]), idx)
    assert np.exp(e.log_prob).sum() == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"L": 5, "temperature": 2.0}, "20 spins"), ({"L": 4, "temperature": -1.0}, "temperature"),
    ({"L": 4, "temperature": 2.0, "dim": 3}, "dim")])
def test_exact_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pg.ising.exact(**kwargs)
