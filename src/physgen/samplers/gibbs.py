"""Block Gibbs sampling for bipartite models (RBM layers), independent of any network.

A model supplies the two conditional samplers; this module owns the procedure, so that
parallel tempering and other chains can reuse it.
"""

from __future__ import annotations

import torch


def bernoulli(p: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """0/1 samples with probabilities ``p`` (same shape and dtype), from ``generator``."""
    return torch.bernoulli(p, generator=generator)


def block_gibbs(v: torch.Tensor, sample_hidden, sample_visible, n_steps: int,
                generator: torch.Generator):
    """Run ``n_steps`` sweeps v -> h -> v.

    Parameters
    ----------
    v : Tensor, shape (n_chains, n_visible)
        Initial visible states (not modified).
    sample_hidden, sample_visible : callable
        ``sample_hidden(v, generator) -> (h, p_h)`` and ``sample_visible(h, generator) ->
        (v, mean_v)``: a sample of the layer and its conditional mean.
    n_steps : int
    generator : torch.Generator

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
