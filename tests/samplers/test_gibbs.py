"""Random draws and the block Gibbs procedure against exact distributions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import chisquare, kstest

from physgen.samplers.gibbs import bernoulli, block_gibbs, gaussian, standard_normal, uniform


@pytest.mark.parametrize("make_generator", [lambda: np.random.default_rng(0),
                                            lambda: torch.Generator().manual_seed(0)],
                         ids=["numpy", "torch"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_draws_have_the_right_law_shape_and_dtype(make_generator, dtype):
    like = torch.zeros(1, dtype=dtype)
    u = uniform((20_000,), make_generator(), like)
    z = standard_normal((20_000,), make_generator(), like)
    assert u.dtype == z.dtype == dtype and u.shape == z.shape == (20_000,)
    assert float(u.min()) >= 0.0 and float(u.max()) < 1.0
    assert kstest(u.numpy(), "uniform").pvalue > 1e-3
    assert kstest(z.numpy(), "norm").pvalue > 1e-3


def test_bernoulli_frequencies_and_purity():
    p = torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0]).repeat(40_000, 1)
    kept = p.clone()
    x = bernoulli(p, np.random.default_rng(1))
    assert torch.equal(p, kept)                      # the probabilities are not modified
    assert set(torch.unique(x).tolist()) <= {0.0, 1.0} and x.dtype == p.dtype
    freq = x.mean(0)
    # binomial standard errors; the end points are exact
    se = torch.sqrt(p[0] * (1 - p[0]) / len(p))
    assert freq[0] == 0 and freq[-1] == 1
    assert torch.all((freq[1:4] - p[0, 1:4]).abs() < 5 * se[1:4])


def test_gaussian_moments_and_same_seed_same_draws():
    mean = torch.tensor([[1.0, -2.0]]).expand(50_000, -1)
    std = torch.tensor([0.5, 2.0])
    x = gaussian(mean, std, np.random.default_rng(2))
    se_mean = std / np.sqrt(len(x))
    assert torch.all((x.mean(0) - mean[0]).abs() < 5 * se_mean)
    # standard error of a sample standard deviation: σ / sqrt(2n)
    assert torch.all((x.std(0) - std).abs() < 5 * std / np.sqrt(2 * len(x)))
    again = gaussian(mean, std, np.random.default_rng(2))
    assert torch.equal(x, again)


def test_block_gibbs_samples_a_two_by_two_bipartite_model():
    """Two visible and two hidden bits with couplings J: the chain's visible frequencies
    match the exact marginal (chi-square)."""
    J = torch.tensor([[1.5, -1.0], [0.5, 2.0]], dtype=torch.float64)
    c = torch.tensor([-0.5, 0.3], dtype=torch.float64)

    def sample_hidden(v, generator):
        p = torch.sigmoid(v @ J + c)
        return bernoulli(p, generator), p

    def sample_visible(h, generator):
        p = torch.sigmoid(h @ J.T)
        return bernoulli(p, generator), p

    states = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float64)
    log_marginal = torch.log1p(torch.exp(states @ J + c)).sum(1)    # Σ_h exp(vᵀJh + cᵀh)
    p_exact = torch.softmax(log_marginal, 0).numpy()
    generator = torch.Generator().manual_seed(3)
    start = torch.zeros(20_000, 2, dtype=torch.float64)
    v, mean_v = block_gibbs(start, sample_hidden, sample_visible, 30, generator)
    assert torch.equal(start, torch.zeros_like(start))
    counts = np.bincount((v @ torch.tensor([2.0, 1.0], dtype=torch.float64)).long().numpy(),
                         minlength=4)
    assert chisquare(counts, p_exact * len(v)).pvalue > 1e-3
    assert mean_v.shape == v.shape and float(mean_v.min()) > 0
    same, none = block_gibbs(start, sample_hidden, sample_visible, 0, generator)
    assert same is start and none is None
