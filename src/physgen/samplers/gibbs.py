"""Block Gibbs sampling for bipartite models (RBM layers), independent of any network.

A model supplies the two conditional samplers; this module owns the procedure and the
random draws, so that parallel tempering (:mod:`physgen.samplers.tempering`) and annealed
importance sampling (:mod:`physgen.samplers.ais`) reuse them.

Every draw takes ``generator``: a ``torch.Generator`` on the tensor's device, or a NumPy
``Generator`` for CPU tensors. NumPy's PCG64 stream is about twice as fast as torch's CPU
generator (and ``torch.bernoulli`` slower still), and Gibbs sampling is dominated by it.
"""

from __future__ import annotations

import numpy as np
import torch


def uniform(shape, generator, like: torch.Tensor) -> torch.Tensor:
    """A fresh tensor of U[0, 1) draws with ``like``'s dtype and device."""
    if isinstance(generator, np.random.Generator):
        dtype = np.float64 if like.dtype == torch.float64 else np.float32
        draws = generator.random(tuple(shape), dtype=dtype)
        return torch.from_numpy(draws).to(like.device, like.dtype)
    return torch.rand(tuple(shape), generator=generator, device=like.device, dtype=like.dtype)


def standard_normal(shape, generator, like: torch.Tensor) -> torch.Tensor:
    """A fresh tensor of N(0, 1) draws with ``like``'s dtype and device."""
    if isinstance(generator, np.random.Generator):
        dtype = np.float64 if like.dtype == torch.float64 else np.float32
        draws = generator.standard_normal(tuple(shape), dtype=dtype)
        return torch.from_numpy(draws).to(like.device, like.dtype)
    return torch.randn(tuple(shape), generator=generator, device=like.device, dtype=like.dtype)


def bernoulli(p: torch.Tensor, generator) -> torch.Tensor:
    """0/1 samples with probabilities ``p`` (same shape and dtype; ``p`` is not modified)."""
    # the fresh uniform tensor becomes the sample in place: one op, no extra allocation
    return uniform(p.shape, generator, p).lt_(p)


def gaussian(mean: torch.Tensor, std, generator) -> torch.Tensor:
    """Samples of N(mean, std²), elementwise (``std`` a tensor broadcasting to ``mean``, or a
    number); ``mean`` is not modified."""
    return standard_normal(mean.shape, generator, mean).mul_(std).add_(mean)


def block_gibbs(v: torch.Tensor, sample_hidden, sample_visible, n_steps: int, generator):
    """Run ``n_steps`` sweeps v -> h -> v.

    Parameters
    ----------
    v : Tensor, shape (n_chains, n_visible)
        Initial visible states (not modified).
    sample_hidden, sample_visible : callable
        ``sample_hidden(v, generator) -> (h, p_h)`` and ``sample_visible(h, generator) ->
        (v, mean_v)``: a sample of the layer and its conditional mean.
    n_steps : int
    generator : torch.Generator or numpy.random.Generator

    Returns
    -------
    v, mean_v : Tensor, shape (n_chains, n_visible)
        The final visible sample and its conditional mean given the last hidden sample
        (``mean_v`` is None when ``n_steps == 0``).
    """
    mean_v = None
    for _ in range(n_steps):
        h, _ = sample_hidden(v, generator)
        v, mean_v = sample_visible(h, generator)
    return v, mean_v
