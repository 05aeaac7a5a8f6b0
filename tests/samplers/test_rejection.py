"""Density-ratio rejection sampling against an exact target."""

import numpy as np
import pytest
import torch
from scipy import stats

from physgen.samplers.rejection import density_ratio_rejection


def test_uniform_proposals_with_ratio_2x_give_the_triangular_density():
    # q = U(0, 1), p(x) = 2x: log(p / q) = log 2x (+ any constant)
    generator = torch.Generator().manual_seed(0)
    samples = density_ratio_rejection(
        lambda m: torch.rand(m, generator=generator, dtype=torch.float64),
        lambda x: torch.log(2 * x) + 5.0, 20_000, generator, chunk=4096)
    assert samples.shape == (20_000,)
    # CDF of p: x²; fixed seed, a KS p-value far from any threshold
    assert stats.kstest(samples.numpy(), lambda x: np.clip(x, 0, 1) ** 2).pvalue > 0.01


def test_rejecting_everything_is_reported():
    generator = torch.Generator().manual_seed(0)
    # p concentrated at the smallest proposal: about one acceptance per chunk of 256
    log_ratio = lambda x: -1e4 * x.double()  # noqa: E731
    with pytest.raises(RuntimeError, match="accepted"):
        density_ratio_rejection(lambda m: torch.rand(m, generator=generator), log_ratio,
                                100, generator, chunk=256, max_proposals=2)
