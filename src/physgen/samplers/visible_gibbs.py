"""Single-site heat-bath (Gibbs) sweeps for a general pairwise ±1 spin model.

The model is p(s) ∝ exp(Σ_i h_i s_i + ½ Σ_ij J_ij s_i s_j) with a dense symmetric coupling
matrix ``J`` (zero diagonal) and fields ``h``: the fully visible Boltzmann machine, of which
the nearest-neighbour Ising model is a special case. Spin ``i`` is resampled from its exact
conditional, P(s_i = +1 | rest) = σ(2 φ_i) with the local field φ_i = h_i + Σ_j J_ij s_j.
Sites are visited in order 0..N-1 in every sweep; each visit leaves p invariant and the
heat-bath update is never deterministic, so the chain is ergodic for finite parameters
(sequential Metropolis with zero-cost flips is not: a zero model would flip every spin
every sweep).

After every sweep each chain also attempts the global flip s -> -s: proposed with
probability 1/2 and accepted with the Metropolis probability min(1, exp(-2 h·s)) (the pair
terms are even). Below the ordering temperature single-site updates practically never carry
a chain from one magnetisation sector to the other; this move does, which keeps persistent
chains balanced between the sectors of a (nearly) Z2-symmetric model. The factor 1/2
matters: without it a zero-field model would flip every chain after every sweep, in
lockstep. The move leaves p invariant; with strong fields it is simply rejected.

Two backends: a compiled Numba kernel for CPU tensors (parallel over chains; the local fields
are kept up to date incrementally, O(N) work per flip) and a torch loop over sites for other
devices. The physgen.ising kernels cannot serve here: they only know nearest neighbours.
Randomness comes from the ``generator`` argument (NumPy or torch), as uniforms drawn in a
fixed layout, so results do not depend on the number of threads.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import torch

BACKENDS = ("auto", "numba", "torch")
_UNIFORMS_PER_CHUNK = 2 ** 22   # bound on the uniforms drawn at once (16 MiB of float32)


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _heat_bath_kernel(spins, fields, couplings, uniforms, global_flip):
    """Sweeps in place; ``uniforms`` (C, n_sweeps, N + 1) float32 in [0, 1), the last one
    of each sweep for the global flip."""
    n_chains, n_sweeps, n = spins.shape[0], uniforms.shape[1], spins.shape[1]
    for c in nb.prange(n_chains):
        s = np.empty(n)
        for i in range(n):
            s[i] = spins[c, i]
        local = fields.copy()
        for i in range(n):
            for j in range(n):
                local[i] += couplings[i, j] * s[j]
        for t in range(n_sweeps):
            for i in range(n):
                # the diagonal of J is zero, so local[i] does not depend on s[i]
                new = 1.0 if uniforms[c, t, i] * (1.0 + np.exp(-2.0 * local[i])) < 1.0 else -1.0
                if new != s[i]:
                    s[i] = new
                    step = 2.0 * new
                    for j in range(n):
                        local[j] += step * couplings[i, j]   # = J[j, i], row i is contiguous
            if global_flip:
                # s -> -s changes log p by -2 h·s (the pair terms are even)
                hs = 0.0
                for i in range(n):
                    hs += fields[i] * s[i]
                if uniforms[c, t, n] < 0.5 * min(1.0, np.exp(-2.0 * hs)):
                    for i in range(n):
                        s[i] = -s[i]
                        local[i] = 2.0 * fields[i] - local[i]
        for i in range(n):
            spins[c, i] = np.int8(s[i])


def _uniforms(shape, generator) -> np.ndarray:
    if isinstance(generator, np.random.Generator):
        return generator.random(shape, dtype=np.float32)
    return torch.rand(shape, generator=generator, dtype=torch.float32).numpy()


def _check(spins, fields, couplings) -> int:
    if spins.ndim != 2:
        raise ValueError(f"spins must have shape (n_chains, n_spins), got {tuple(spins.shape)}")
    n = spins.shape[1]
    if tuple(fields.shape) != (n,) or tuple(couplings.shape) != (n, n):
        raise ValueError(f"fields must have shape ({n},) and couplings ({n}, {n}) for "
                         f"{n} spins, got {tuple(fields.shape)} and {tuple(couplings.shape)}")
    return n


def heat_bath(spins: torch.Tensor, fields: torch.Tensor, couplings: torch.Tensor,
              n_sweeps: int, generator, *, global_flip: bool = True,
              backend: str = "auto") -> torch.Tensor:
    """Advance chains by ``n_sweeps`` sequential heat-bath sweeps, in place.

    Parameters
    ----------
    spins : Tensor, shape (n_chains, N)
        ±1 states. The ``"numba"`` backend needs a contiguous int8 CPU tensor (updated
        through a shared NumPy view); ``"torch"`` takes any float or int8 tensor.
    fields : Tensor, shape (N,)
    couplings : Tensor, shape (N, N)
        Symmetric, with a zero diagonal (not checked: the caller builds it).
    n_sweeps : int
    generator : numpy.random.Generator or torch.Generator
        Source of the uniforms; a torch generator must live on ``spins``' device. The
        ``"numba"`` backend takes either (NumPy's stream is the faster one).
    global_flip : bool
        Propose s -> -s after every sweep (see the module docstring).
    backend : {"auto", "numba", "torch"}
        ``"auto"``: Numba for CPU tensors, torch elsewhere.

    Returns
    -------
    Tensor
        ``spins``, updated.
    """
    n = _check(spins, fields, couplings)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        backend = "numba" if spins.device.type == "cpu" else "torch"
    n_chains = spins.shape[0]
    if n_sweeps <= 0 or n_chains == 0 or n == 0:
        return spins
    if backend == "numba":
        if spins.device.type != "cpu" or spins.dtype != torch.int8 or not spins.is_contiguous():
            raise ValueError("the numba backend needs spins as a contiguous int8 CPU tensor")
        view = spins.numpy()
        h = fields.detach().to("cpu", torch.float64).numpy()
        J = np.ascontiguousarray(couplings.detach().to("cpu", torch.float64).numpy())
        chunk = max(1, min(n_sweeps, _UNIFORMS_PER_CHUNK // (n_chains * (n + 1))))
        for done in range(0, n_sweeps, chunk):
            uniforms = _uniforms((n_chains, min(chunk, n_sweeps - done), n + 1), generator)
            _heat_bath_kernel(view, h, J, uniforms, bool(global_flip))
        return spins
    h = fields.detach().to(torch.float32)
    J = couplings.detach().to(torch.float32)
    state = spins.to(torch.float32)
    local = torch.addmm(h, state, J)      # J symmetric: row c of s J is the local field
    for _ in range(n_sweeps):
        if isinstance(generator, np.random.Generator):
            uniform = torch.from_numpy(generator.random((n_chains, n + 1), dtype=np.float32))
            uniform = uniform.to(spins.device)
        else:
            uniform = torch.rand((n_chains, n + 1), generator=generator, device=spins.device)
        for i in range(n):
            new = torch.where(uniform[:, i] < torch.sigmoid(2.0 * local[:, i]), 1.0, -1.0)
            delta = new - state[:, i]
            state[:, i] = new
            local.addr_(delta, J[i])
        if global_flip:
            flip = uniform[:, n] < 0.5 * torch.exp(-2.0 * (state @ h)).clamp(max=1.0)
            sign = torch.where(flip, -1.0, 1.0)[:, None]
            state.mul_(sign)
            local = torch.where(flip[:, None], 2.0 * h - local, local)
    spins.copy_(state.to(spins.dtype))
    return spins
