"""log Z of an RBM: exact by enumerating its smaller layer, or annealed importance sampling.

A mixin of :class:`physgen.models.rbm.RBM`, kept apart so that each file has one job: it uses
the RBM's parameters and conditionals (``_params``, ``_sigma_sq``, ``_base``,
``_hidden_input``, ``_visible_energy_gap``, ``_tempered_visible``) and gives it
``_exact_log_partition``, ``_cached_log_partition`` (for ``score_samples``) and ``_ais``.
AIS anneals from the base-rate model (W = 0) to the RBM along E_β = (1 - β) E_base + β E
(Neal 2001; Salakhutdinov & Murray 2008).
"""

from __future__ import annotations

import math

import torch
from torch.nn.functional import softplus

from physgen.samplers.ais import AISResult, ais_betas, annealed_importance_sampling
from physgen.samplers.gibbs import bernoulli, gaussian

MAX_EXACT_UNITS = 20
_ENUM_CHUNK = 2 ** 14       # states per chunk when enumerating a layer


def _enumerate_states(n_units: int, start: int, stop: int, dtype) -> torch.Tensor:
    """Rows ``start..stop-1`` of all 2**n_units binary states, shape (stop-start, n_units)."""
    index = torch.arange(start, stop, dtype=torch.int64)[:, None]
    return ((index >> torch.arange(n_units, dtype=torch.int64)) & 1).to(dtype)



class PartitionFunction:
    """Exact and annealed log partition functions for :class:`~physgen.models.rbm.RBM`."""

    def _exact_log_partition(self) -> torch.Tensor:
        """log Z (0-d float64 tensor) by enumerating the smaller layer (hidden layer for
        Gaussian units)."""
        W, a, b = self._params(torch.float64)
        n_visible, n_hidden = W.shape
        if self._gaussian:
            if n_hidden > MAX_EXACT_UNITS:
                raise ValueError(f"exact log Z of a Gaussian RBM enumerates the hidden layer "
                                 f"and needs at most {MAX_EXACT_UNITS} hidden units; this one "
                                 f"has {n_hidden}; use method='ais'")
            sigma_sq = self._sigma_sq(torch.float64)
            # per hidden state, a Gaussian integral over v:
            # ∫ exp(-E) dv = exp(bᵀh + Σ_i ((Wh)_i² + 2 a_i (Wh)_i)/(2σ_i²)) Π_i sqrt(2π σ_i²)
            constant = 0.5 * (n_visible * math.log(2 * math.pi) + sigma_sq.log().sum())

            def terms(states):
                shift = states @ W.T
                return states @ b + ((shift ** 2 + 2 * a * shift) / (2 * sigma_sq)).sum(1)

            n_units = n_hidden
        else:
            if min(n_visible, n_hidden) > MAX_EXACT_UNITS:
                raise ValueError(f"exact log Z enumerates the smaller layer and needs at most "
                                 f"{MAX_EXACT_UNITS} units there; this RBM has {n_visible} "
                                 f"visible and {n_hidden} hidden units; use method='ais'")
            constant = 0.0
            if n_hidden <= n_visible:   # sum over h of exp(bᵀh) Π_i (1 + exp(a_i + (Wh)_i))
                n_units, own, other, weights = n_hidden, b, a, W.T
            else:                       # sum over v of exp(-F(v))
                n_units, own, other, weights = n_visible, a, b, W

            def terms(states):
                return states @ own + softplus(torch.addmm(other, states, weights)).sum(1)

        parts = []
        for start in range(0, 2 ** n_units, _ENUM_CHUNK):
            states = _enumerate_states(n_units, start, min(start + _ENUM_CHUNK, 2 ** n_units),
                                       torch.float64).to(W.device)
            parts.append(torch.logsumexp(terms(states), 0))
        return torch.logsumexp(torch.stack(parts), 0) + constant

    def _exact_is_possible(self) -> bool:
        n_visible, n_hidden = self.module_.W.shape
        if self._gaussian:
            return n_hidden <= MAX_EXACT_UNITS
        return min(n_visible, n_hidden) <= MAX_EXACT_UNITS

    def _memoised(self, key, compute):
        """``compute()`` once per ``key`` and set of parameter values."""
        # in-place updates bump a tensor's version counter; holding the module itself in the
        # memo rules out a new module reusing the ids of a freed one
        versions = tuple(p._version for p in self.module_.parameters())
        memo = getattr(self, "_log_z_memo", None)
        if memo is None or memo[0] is not self.module_ or memo[1] != versions:
            memo = self._log_z_memo = (self.module_, versions, {})
        if key not in memo[2]:
            memo[2][key] = compute()
        return memo[2][key]

    def _cached_log_partition(self) -> torch.Tensor:
        """log Z (0-d float64 tensor) for ``score_samples``: exact when possible, else the AIS
        estimate with the default settings (computed once per set of parameter values)."""
        if self._exact_is_possible():
            return self._memoised(("exact",), self._exact_log_partition)
        estimate = self.log_partition(method="ais")
        return torch.tensor(estimate.mean, dtype=torch.float64, device=self.device_)

    def _ais(self, n_chains: int, n_betas: int, n_runs: int, seed) -> AISResult:
        from physgen.random import as_generator, torch_generator

        net = self.module_
        dtype = torch.float64
        a0, base_var = self._base(dtype)
        n_visible, n_hidden = net.W.shape
        if self.device_.type == "cpu":
            generator = as_generator(seed)
        else:
            generator = torch_generator(seed, device=self.device_)
        n = n_chains * n_runs
        if self._gaussian:
            x0 = gaussian(a0.expand(n, -1), base_var.sqrt(), generator)
            log_z_base = 0.5 * float((torch.log(2 * math.pi * base_var)).sum())
        else:
            x0 = bernoulli(torch.sigmoid(a0).expand(n, -1), generator)
            log_z_base = float(softplus(a0).sum())
        log_z_base += n_hidden * math.log(2.0)

        W, a, b = self._params(dtype)
        if self._gaussian:
            def step(v, beta_prev, beta, rng):
                u = self._hidden_input(v)
                gap = self._visible_energy_gap(v)
                # log f_β(v) = (base term) - β gap(v) + Σ_j softplus(β u_j)
                log_ratio = ((beta_prev - beta) * gap + softplus(beta * u).sum(1)
                             - softplus(beta_prev * u).sum(1))
                h = bernoulli(torch.sigmoid(beta * u), rng)
                return self._tempered_visible(h, beta, rng), log_ratio
        else:
            # the same step for Bernoulli units with the parameters looked up once (AIS
            # takes thousands of steps, each a handful of small operations)
            shift = a - a0

            def step(v, beta_prev, beta, rng):
                u = torch.addmm(b, v, W)
                scaled = u * beta
                log_ratio = (softplus(scaled).sum(1) - softplus(u * beta_prev).sum(1)
                             + (beta - beta_prev) * (v @ shift))
                h = bernoulli(scaled.sigmoid_(), rng)
                logits = torch.addmm(a0, h, W.T, beta=1.0, alpha=beta).add_(shift, alpha=beta)
                return bernoulli(logits.sigmoid_(), rng), log_ratio

        with torch.no_grad():
            return annealed_importance_sampling(x0, step, ais_betas(n_betas), log_z_base,
                                                generator, n_runs=n_runs)
