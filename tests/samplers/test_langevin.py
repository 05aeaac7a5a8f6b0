"""Langevin dynamics against the Gaussian, where its stationary law is known exactly.

For E(x) = x²/(2σ²) the update x <- x - η x/σ² + sqrt(2η) ε is an AR(1) process with
stationary mean 0 and variance σ² / (1 - η/(2σ²)) (the discretisation bias of the
unadjusted Langevin algorithm), which tends to σ² as η -> 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from physgen.samplers.langevin import langevin

SIGMA = torch.tensor([0.5, 1.0], dtype=torch.float64)   # two independent coordinates


def gaussian_energy(x):
    return (x.square() / (2 * SIGMA.square())).sum(1)


def run_chains(step_factor, n_chains=4000, seed=0):
    """Chains from 0 after many mixing times; step size η = step_factor · min σ²."""
    eta = step_factor * float(SIGMA.min()) ** 2
    # the slowest coordinate relaxes at rate η/σ_max² per step; run ten relaxation times
    n_steps = int(math.ceil(10 * float(SIGMA.max()) ** 2 / eta / 2))
    generator = torch.Generator().manual_seed(seed)
    x0 = torch.zeros((n_chains, 2), dtype=torch.float64)
    return langevin(gaussian_energy, x0, n_steps, eta, None, generator).numpy(), eta


def z_scores(samples, expected_var):
    """z of the sample mean against 0 and of the sample variance against expected_var."""
    n = len(samples)
    z_mean = samples.mean(0) / np.sqrt(expected_var / n)
    # var of the sample variance of a Gaussian: 2 σ⁴ / (n - 1)
    z_var = (samples.var(0, ddof=1) - expected_var) / np.sqrt(2 * expected_var**2 / (n - 1))
    return z_mean, z_var


def test_small_steps_sample_the_gaussian():
    samples, eta = run_chains(step_factor=0.01)
    sigma2 = SIGMA.numpy() ** 2
    z_mean, z_var = z_scores(samples, sigma2)
    # the discretisation bias (a factor 1/(1 - η/2σ²) <= 1.005) is below the 1.6 % error
    assert np.all(np.abs(z_mean) < 4) and np.all(np.abs(z_var) < 4), (z_mean, z_var)


def test_large_steps_show_the_exact_discretisation_bias():
    samples, eta = run_chains(step_factor=0.5, seed=1)
    sigma2 = SIGMA.numpy() ** 2
    biased = sigma2 / (1 - eta / (2 * sigma2))       # 4/3 σ² for the narrow coordinate
    z_mean, z_var = z_scores(samples, biased)
    assert np.all(np.abs(z_mean) < 4) and np.all(np.abs(z_var) < 4), (z_mean, z_var)
    # and the bias is resolved: the narrow coordinate is far from σ²
    assert z_scores(samples, sigma2)[1][0] > 8


def test_deterministic_step_follows_the_clipped_gradient():
    x0 = torch.tensor([[3.0, -0.001], [-2.0, 0.0]])
    # E = 10 Σ x²: gradient 20 x; one step of size 0.01 without noise
    out = langevin(lambda x: 10 * x.square().sum(1), x0, 1, 0.01, 0.0, None)
    torch.testing.assert_close(out, x0 - 0.01 * 20 * x0)
    clipped = langevin(lambda x: 10 * x.square().sum(1), x0, 1, 0.01, 0.0, None, clip=1.0)
    torch.testing.assert_close(clipped, x0 - 0.01 * (20 * x0).clamp(-1, 1))
    boxed = langevin(lambda x: -100 * x.sum(1), x0, 5, 0.1, 0.0, None, bounds=(-1.0, 1.0))
    assert torch.all(boxed == 1.0)
    lower, upper = torch.tensor([-5.0, 0.5]), torch.tensor([5.0, 0.5])
    boxed = langevin(lambda x: x.square().sum(1), x0, 1, 0.1, 0.0, None, bounds=(lower, upper))
    assert torch.all(boxed[:, 1] == 0.5)


def test_no_gradient_reaches_the_energy_parameters_and_x0_is_kept():
    net = torch.nn.Linear(3, 1)
    x0 = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    before = x0.clone()
    out = langevin(lambda x: net(x).squeeze(1), x0, 4, 0.1, 0.1,
                   torch.Generator().manual_seed(1))
    assert net.weight.grad is None and net.bias.grad is None
    assert not out.requires_grad
    torch.testing.assert_close(x0, before)
    # works inside no_grad (as model sampling runs) and is reproducible from the generator
    with torch.no_grad():
        again = langevin(lambda x: net(x).squeeze(1), x0, 4, 0.1, 0.1,
                         torch.Generator().manual_seed(1))
    torch.testing.assert_close(out, again, rtol=0, atol=0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_steps=-1), "n_steps"),
    (dict(n_steps=2.0), "n_steps"),
    (dict(step_size=0.0), "step_size"),
    (dict(step_size=float("nan")), "step_size"),
    (dict(noise_scale=-0.1), "noise_scale"),
    (dict(clip=0.0), "clip"),
    (dict(generator=None), "Generator"),
])
def test_bad_arguments(kwargs, message):
    arguments = dict(n_steps=2, step_size=0.1, noise_scale=0.1,
                     generator=torch.Generator().manual_seed(0))
    arguments.update(kwargs)
    clip = arguments.pop("clip", None)
    with pytest.raises(ValueError, match=message):
        langevin(gaussian_energy, torch.zeros(3, 2, dtype=torch.float64), clip=clip,
                 **arguments)


def test_energy_must_give_one_value_per_row():
    with pytest.raises(ValueError, match="one energy per row"):
        langevin(lambda x: x.square(), torch.zeros(3, 2), 1, 0.1, 0.0, None)
    with pytest.raises(ValueError, match="floating-point"):
        langevin(gaussian_energy, torch.zeros(3, 2, dtype=torch.int64), 1, 0.1, 0.0, None)
