"""Annealed importance sampling on Gaussians, whose normalising constants are known.

f_β(x) = exp(-x² / 2 · ((1 - β)/s0² + β/s1²)): a Gaussian of precision interpolating between
the base (std s0) and the target (std s1), so log Z_β = ½ log(2π / precision_β). The
transition draws a fresh sample of p_β (an exact, if extreme, kernel leaving it invariant);
a random-walk Metropolis kernel is checked too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from physgen.samplers.ais import AISResult, ais_betas, annealed_importance_sampling

S0, S1 = 2.0, 0.5


def precision(beta):
    return (1 - beta) / S0 ** 2 + beta / S1 ** 2


def log_f(x, beta):
    return -0.5 * precision(beta) * x ** 2


def exact_step(x, beta_prev, beta, generator):
    log_ratio = log_f(x, beta) - log_f(x, beta_prev)
    fresh = torch.randn(x.shape, generator=generator, dtype=torch.float64)
    return fresh / math.sqrt(precision(beta)), log_ratio


def metropolis_step(x, beta_prev, beta, generator):
    log_ratio = log_f(x, beta) - log_f(x, beta_prev)
    scale = 2.0 / math.sqrt(precision(beta))
    for _ in range(3):
        proposal = x + scale * torch.randn(x.shape, generator=generator, dtype=torch.float64)
        accept = torch.log(torch.rand(x.shape, generator=generator, dtype=torch.float64)) < (
            log_f(proposal, beta) - log_f(x, beta))
        x = torch.where(accept, proposal, x)
    return x, log_ratio


def run(step, n_betas, n_chains=200, n_runs=10, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x0 = S0 * torch.randn(n_chains * n_runs, generator=generator, dtype=torch.float64)
    log_z_base = 0.5 * math.log(2 * math.pi * S0 ** 2)
    return annealed_importance_sampling(x0, step, ais_betas(n_betas), log_z_base, generator,
                                        n_runs=n_runs)


EXACT = 0.5 * math.log(2 * math.pi * S1 ** 2)


@pytest.mark.parametrize("step, n_betas", [(exact_step, 50), (metropolis_step, 200)])
def test_estimate_agrees_with_the_exact_log_z(step, n_betas):
    result = run(step, n_betas)
    assert isinstance(result, AISResult)
    assert result.log_weights.shape == (10, 200) and result.run_log_z.shape == (10,)
    assert 0 < result.log_z.stderr < 0.05
    assert abs(result.log_z.z_score(EXACT)) < 4, (result.log_z, EXACT)
    assert np.all(result.effective_sample_size > 20)


def test_more_intermediate_distributions_reduce_the_error():
    coarse, fine = run(exact_step, 10), run(exact_step, 400)
    assert fine.log_z.stderr < coarse.log_z.stderr / 2
    # with many intermediate steps the chains carry nearly equal weights
    assert np.all(fine.effective_sample_size > 0.8 * 200)
    assert fine.effective_sample_size.mean() > 1.5 * coarse.effective_sample_size.mean()


def test_betas():
    betas = ais_betas(1000)
    assert len(betas) == 1000 and betas[0] == 0 and betas[-1] == 1
    assert np.all(np.diff(betas) > 0)
    # denser near β = 1 (where a trained model changes fastest)
    assert np.mean(betas > 0.9) > 0.6
    with pytest.raises(ValueError, match="n_betas"):
        ais_betas(5)


def test_bad_arguments():
    x0 = torch.zeros(20, dtype=torch.float64)
    for betas in ([0.0, 0.5], [0.2, 1.0], [0.0, 0.7, 0.5, 1.0]):
        with pytest.raises(ValueError, match="betas"):
            annealed_importance_sampling(x0, exact_step, betas, 0.0, torch.Generator())
    with pytest.raises(ValueError, match="n_runs"):
        annealed_importance_sampling(x0, exact_step, [0.0, 1.0], 0.0, torch.Generator(),
                                     n_runs=1)
    with pytest.raises(ValueError, match="equal runs"):
        annealed_importance_sampling(x0, exact_step, [0.0, 1.0], 0.0, torch.Generator(),
                                     n_runs=3)
