"""Block Gibbs sampling for bipartite models (RBM layers), independent of any network.

A model supplies the two conditional samplers; this module owns the procedure, so that
parallel tempering and other chains can reuse it.
"""

from __future__ import annotations

import numpy as np
import torch


def bernoulli(p: torch.Tensor, generator) -> torch.Tensor:
    """0/1 samples with probabilities ``p`` (same shape and dtype).

    ``generator`` is a ``torch.Generator`` on ``p``'s device, or a NumPy ``Generator`` for
    CPU tensors: NumPy's float32 PCG64 stream is about twice as fast as torch's CPU
    generator, and ``torch.bernoulli`` is slower still; Gibbs sampling is dominated by it.
    """
    if isinstance(generator, np.random.Generator):
        uniform = torch.from_numpy(generator.random(tuple(p.shape), dtype=np.float32))
    else:
        uniform = torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype)
    return (uniform < p).to(p.dtype)


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
