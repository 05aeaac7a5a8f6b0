"""Density-ratio rejection sampling: turn proposals from q into draws from p, given
log(p / q) up to a constant (discriminator rejection sampling, Azadi et al. 2019)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def density_ratio_rejection(propose: Callable[[int], torch.Tensor],
                            log_ratio: Callable[[torch.Tensor], torch.Tensor], n: int,
                            generator: torch.Generator, chunk: int,
                            max_proposals: int = 1000) -> torch.Tensor:
    """``n`` accepted proposals, shape ``(n, ...)``.

    Each proposal x (from ``propose(chunk)``, shape ``(chunk, ...)``) is kept with
    probability exp(log_ratio(x) - M), M the largest log-ratio seen so far: for
    log_ratio = log(p / q) + const the kept points follow p where q puts mass. M starts
    at the first chunk's maximum and is raised whenever a larger value appears (a slight
    overweighting of the rare points above the running maximum, as in Azadi et al.).

    Raises
    ------
    RuntimeError
        When fewer than ``n`` are accepted in ``max_proposals * n`` proposals.
    """
    kept, n_kept, n_proposed, bound = [], 0, 0, -math.inf
    while n_kept < n:
        if n_proposed >= max_proposals * n:
            raise RuntimeError(f"rejection sampling accepted {n_kept} of {n_proposed} "
                               f"proposals; the discriminator rejects nearly every "
                               f"generated sample (train longer, or sample without it)")
        x = propose(chunk)
        with torch.no_grad():
            log_r = log_ratio(x).double()
        bound = max(bound, float(log_r.max()))
        u = torch.rand(len(x), generator=generator, device=x.device, dtype=torch.float64)
        accepted = x[u < torch.exp(log_r - bound)]
        kept.append(accepted)
        n_kept += len(accepted)
        n_proposed += len(x)
    return torch.cat(kept)[:n]
