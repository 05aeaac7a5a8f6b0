"""Parallel tempering on a distribution whose tempered versions are known exactly.

The test system is a double well on 10 discrete positions, E(x) = depth·(1 - ((x - 4.5)/4.5)²)²
(minima at both ends, a barrier of height ``depth`` between them), with local Metropolis
moves x -> x ± 1. At β = 1 and depth 20 a single chain practically never crosses the barrier;
tempering down to β = 0 (uniform) makes the cold replica sample both wells with the exact
Boltzmann weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physgen.stats import mean_estimate
from physgen.samplers.tempering import (exchange, parallel_tempering,
                                        temperature_ladder)

N_POSITIONS = 10
CENTRE = (N_POSITIONS - 1) / 2
POSITIONS = torch.arange(N_POSITIONS, dtype=torch.float64)
DEPTH = 20.0
ASYMMETRY = 0.7          # a tilt, so that the two wells have different weights


def energy_of(x):
    y = (x - CENTRE) / CENTRE
    return DEPTH * (1 - y ** 2) ** 2 + ASYMMETRY * y


def metropolis_sweep(states, betas, generator):
    """One local Metropolis move per chain, each replica at its own β."""
    (x,) = states
    step = torch.where(torch.rand(x.shape, generator=generator, dtype=torch.float64) < 0.5,
                       -1.0, 1.0)
    proposal = x + step
    inside = (proposal >= 0) & (proposal <= N_POSITIONS - 1)
    delta = energy_of(proposal) - energy_of(x)
    accept = inside & (torch.rand(x.shape, generator=generator, dtype=torch.float64)
                       < torch.exp(-betas[:, None] * delta))
    return [torch.where(accept, proposal, x)]


def exact_probabilities(beta):
    logits = -beta * energy_of(POSITIONS)
    return torch.softmax(logits, 0).numpy()


def test_ladder():
    np.testing.assert_allclose(temperature_ladder(5), [1, 0.75, 0.5, 0.25, 0])
    np.testing.assert_allclose(temperature_ladder(3, 0.01, "geometric"), [1, 0.1, 0.01])
    np.testing.assert_array_equal(temperature_ladder(1), [1.0])
    for bad in [dict(n_temperatures=0), dict(n_temperatures=3, beta_min=1.0),
                dict(n_temperatures=3, kind="geometric"), dict(n_temperatures=3, kind="cubic")]:
        with pytest.raises(ValueError):
            temperature_ladder(**bad)


def test_exchange_acceptance_matches_metropolis():
    """For one pair with D difference d the exchange is accepted with min(1, exp(Δβ d)):
    measured over many chains at once."""
    n_chains = 40_000
    betas = torch.tensor([1.0, 0.5], dtype=torch.float64)
    # the cold replica holds the low-energy state: moving it up costs (β0 - β1)(D0 - D1) = -1
    energies = torch.tensor([[0.0], [2.0]], dtype=torch.float64).expand(2, n_chains)
    labels = torch.stack([torch.zeros(n_chains), torch.ones(n_chains)])[..., None]
    moved, accepted = exchange([labels], energies, betas, 0, torch.Generator().manual_seed(0))
    expected = np.exp(-1.0)
    rate = float(accepted.double().mean())
    assert abs(rate - expected) < 5 * np.sqrt(expected * (1 - expected) / n_chains)
    # an accepted exchange swaps the whole state; a rejected one leaves it
    swapped = moved[0][0, :, 0] == 1
    assert torch.equal(swapped, accepted[0])
    assert torch.equal(moved[0].sum(0), labels.sum(0))
    # the favourable direction (the higher energy to the hotter replica) is always accepted
    _, always = exchange([labels], energies.flip(0), betas, 0, torch.Generator())
    assert bool(always.all())


def test_odd_round_leaves_the_first_replica():
    energies = torch.zeros(3, 4, dtype=torch.float64)
    betas = torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64)
    states = [torch.arange(3.0)[:, None, None].expand(3, 4, 1)]
    moved, accepted = exchange(states, energies, betas, 1, torch.Generator())
    assert accepted.shape == (1, 4) and bool(accepted.all())   # equal energies: always
    assert torch.equal(moved[0][:, :, 0], torch.tensor([[0.0], [2.0], [1.0]]).expand(3, 4))


@pytest.mark.parametrize("n_rounds", [1, 3])
def test_cold_replica_samples_both_wells(n_rounds):
    betas = torch.tensor(temperature_ladder(8), dtype=torch.float64)
    n_chains = 400
    generator = torch.Generator().manual_seed(1)
    # every chain starts in the left well: only tempering can populate the right one
    states = [torch.zeros(len(betas), n_chains, dtype=torch.float64)]

    def energy(states):
        return energy_of(states[0])

    states, _, _, offset = parallel_tempering(states, betas, metropolis_sweep, energy, 1000,
                                              generator, n_rounds=n_rounds)
    samples = []
    for _ in range(20):
        start = offset
        states, accepted, proposed, offset = parallel_tempering(
            states, betas, metropolis_sweep, energy, 25, generator, offset, n_rounds)
        samples.append(states[0][0].clone())
    # pairs (0,1), (2,3), ... on even rounds and (1,2), (3,4), ... on odd ones, alternating
    parities = [(start + r) % 2 for r in range(25 * n_rounds)]
    expected_pairs = sum(len(range(parity, len(betas) - 1, 2)) for parity in parities)
    assert float(proposed.sum()) == expected_pairs * n_chains
    assert bool((accepted <= proposed).all()) and float(accepted.sum()) > 0
    samples = torch.stack(samples)                       # (snapshot, chain)
    exact = exact_probabilities(1.0)
    # the weight of the right well, per chain over its snapshots: the chains are independent,
    # so their spread gives an honest error despite the correlation along each chain
    per_chain = (samples > CENTRE).double().mean(0).numpy()
    estimate = mean_estimate(per_chain)
    assert abs(estimate.z_score(exact[N_POSITIONS // 2:].sum())) < 4, (estimate, exact[N_POSITIONS // 2:].sum())
    assert 0.05 < exact[N_POSITIONS // 2:].sum() < 0.5     # the test is not trivial: both wells matter
    histogram = np.bincount(samples.long().numpy().ravel(), minlength=N_POSITIONS) / samples.numel()
    assert 0.5 * np.abs(histogram - exact).sum() < 0.05


def test_without_tempering_the_chain_stays_in_its_well():
    """The control experiment: the same sweeps at β = 1 only never cross the barrier."""
    betas = torch.tensor([1.0], dtype=torch.float64)
    states = [torch.zeros(1, 400, dtype=torch.float64)]
    states, accepted, proposed, _ = parallel_tempering(
        states, betas, metropolis_sweep, lambda s: energy_of(s[0]), 1100,
        torch.Generator().manual_seed(1))
    assert float(states[0].max()) < CENTRE and accepted.numel() == proposed.numel() == 0
