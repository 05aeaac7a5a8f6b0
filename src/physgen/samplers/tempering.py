"""Parallel tempering (replica exchange), independent of any network.

R replicas of each of M independent chains sample the tempered distributions

    p_β(x) ∝ exp(-E_0(x) - β D(x)),    1 = β_0 > β_1 > ... > β_{R-1} >= 0,

where ``D`` is the part of the energy that is tempered (for an RBM annealed from a base-rate
model, D = E_model - E_base; for plain temperature scaling E_0 = 0 and D = E). Replica 0
samples the target. After every sweep of Gibbs updates (the model's job), neighbouring
replicas (r, r + 1) propose to exchange their states; alternating between the even and the
odd pairs (the deterministic even-odd scheme) lets a state travel up and down the ladder.
The exchange is a Metropolis move on the product distribution with acceptance

    min(1, exp((β_r - β_{r+1}) (D(x_r) - D(x_{r+1})))),

in which E_0 cancels. Tensors are replica-major: shape (R, M, ...).

Why hand-written: the swap step is a few tensor operations, and no maintained PyTorch
library offers replica exchange for arbitrary block-Gibbs models.
"""

from __future__ import annotations

import numpy as np
import torch

from physgen.samplers.gibbs import uniform

LADDERS = ("geometric", "linear")


def temperature_ladder(n_temperatures: int, beta_min: float = 0.0,
                       kind: str = "linear") -> np.ndarray:
    """Inverse temperatures from 1 down to ``beta_min``, shape ``(n_temperatures,)``.

    ``"linear"`` spaces β evenly; ``"geometric"`` spaces log β evenly (``beta_min`` must be
    > 0). One temperature gives ``[1.0]`` (plain persistent chains).
    """
    if isinstance(n_temperatures, bool) or not isinstance(n_temperatures, (int, np.integer)) \
            or n_temperatures < 1:
        raise ValueError(f"n_temperatures must be a positive integer, got {n_temperatures!r}")
    if kind not in LADDERS:
        raise ValueError(f"ladder kind must be one of {', '.join(LADDERS)}, got {kind!r}")
    if not 0.0 <= beta_min < 1.0 or (kind == "geometric" and beta_min <= 0.0):
        raise ValueError(f"beta_min must lie in {'(0' if kind == 'geometric' else '[0'}, 1) "
                         f"for a {kind} ladder, got {beta_min!r}")
    if n_temperatures == 1:
        return np.ones(1)
    if kind == "linear":
        return np.linspace(1.0, beta_min, n_temperatures)
    return np.geomspace(1.0, beta_min, n_temperatures)


def exchange(states, energies: torch.Tensor, betas: torch.Tensor, offset: int, generator):
    """One round of exchange proposals between replicas (r, r + 1), r = offset, offset + 2, ...

    Parameters
    ----------
    states : sequence of Tensor, each of shape (R, M, ...)
        The replicas' states (several tensors are exchanged together, e.g. visible and
        hidden layers). Not modified.
    energies : Tensor, shape (R, M)
        D of each replica's state.
    betas : Tensor, shape (R,)
        Inverse temperatures, same dtype and device as ``energies``.
    offset : {0, 1}
        Which pairs to propose (even or odd).
    generator : torch.Generator or numpy.random.Generator

    Returns
    -------
    states : list of Tensor
        The states after the exchanges (new tensors).
    accepted : Tensor, shape (n_pairs, M), bool
        Which of the proposed pairs (r = offset, offset + 2, ...) exchanged.
    """
    n_replicas, n_chains = energies.shape
    lower = slice(offset, n_replicas - 1, 2)
    upper = slice(offset + 1, n_replicas, 2)
    log_ratio = (betas[lower] - betas[upper])[:, None] * (energies[lower] - energies[upper])
    # accept when u < exp(log_ratio), written as log(u) < log_ratio (no overflow)
    accept = uniform(log_ratio.shape, generator, log_ratio).log_() < log_ratio
    # flat row (replica * M + chain) of the state each position takes after the exchanges
    source = torch.arange(n_replicas * n_chains, device=energies.device).view(n_replicas,
                                                                             n_chains)
    shift = accept.long() * n_chains
    source[lower] += shift
    source[upper] -= shift
    source = source.view(-1)
    moved = [state.reshape(n_replicas * n_chains, -1).index_select(0, source).view(state.shape)
             for state in states]
    return moved, accept


def parallel_tempering(states, betas: torch.Tensor, sweep, energy, n_sweeps: int, generator,
                       offset: int = 0, n_rounds: int = 1):
    """``n_sweeps`` rounds of (Gibbs sweep of every replica, exchange proposals).

    Parameters
    ----------
    states : sequence of Tensor, each of shape (R, M, ...)
    betas : Tensor, shape (R,)
    sweep : callable
        ``sweep(states, betas, generator) -> states``: one Gibbs sweep of every replica at
        its own β (leaves each p_β invariant).
    energy : callable
        ``energy(states) -> Tensor (R, M)``: the tempered energy D of each state.
    n_sweeps : int
    generator : torch.Generator or numpy.random.Generator
    offset : {0, 1}
        Parity of the first exchange round; later rounds alternate.
    n_rounds : int
        Exchange rounds after each sweep. Exchanges only permute states (the energies
        travel with them), so several rounds cost little and let a state move several rungs
        per sweep: a mode found at a high temperature reaches β = 1 in ~R sweeps instead of
        the ~R² of a random walk of one rung per sweep.

    Returns
    -------
    states : list of Tensor
    accepted, proposed : Tensor, shape (R - 1,), float
        Numbers of accepted and proposed exchanges per pair of neighbouring replicas, summed
        over chains and sweeps (their ratio is the pair's acceptance rate).
    offset : int
        The parity the next call should start with (continues the alternation).
    """
    n_pairs = max(len(betas) - 1, 0)
    accepted = torch.zeros(n_pairs, device=betas.device)
    proposed = torch.zeros(n_pairs, device=betas.device)
    for _ in range(n_sweeps):
        states = sweep(states, betas, generator)
        if n_pairs:
            energies = energy(states)
            for _ in range(n_rounds):
                moved, round_accepted = exchange([*states, energies], energies, betas, offset,
                                                 generator)
                *states, energies = moved
                energies = energies.view(-1, energies.shape[1])
                accepted[offset::2] += round_accepted.sum(1)
                proposed[offset::2] += energies.shape[1]
                offset = 1 - offset
    return list(states), accepted, proposed, offset
