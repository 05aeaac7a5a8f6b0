"""Fully visible Boltzmann machine: the maximum-entropy pairwise model (inverse Ising).

p(s) = exp(Σ_i h_i s_i + Σ_{i<j} J_ij s_i s_j) / Z on ±1 spins s (the data flattened
row-major; 0/1 bits are mapped to spins s = 2b - 1 inside and back on output, so ``fields_``
and ``couplings_`` always refer to spins). It is the distribution of largest entropy with
the data's means ⟨s_i⟩ and correlations ⟨s_i s_j⟩, so the maximum-likelihood fit is the
one whose moments equal the data's: the gradient of the mean log-likelihood is
∂/∂h_i = ⟨s_i⟩_data - ⟨s_i⟩_model and ∂/∂J_ij = ⟨s_i s_j⟩_data - ⟨s_i s_j⟩_model.
On data from an Ising model at temperature T (coupling J, field h) the fit recovers
J_ij = J/T for nearest neighbours, 0 for every other pair, and h_i = h/T.

Training
--------
``training="moments"`` (default) follows that gradient. The data moments are computed once
from the whole training set (they are the model's sufficient statistics: mini-batch moments
would only add noise); the mini-batches of the training loop set the pace, one update per
batch. The model moments come from ``n_chains`` persistent Markov chains advanced ``k``
heat-bath sweeps per update (:mod:`physgen.samplers.visible_gibbs`; chains start at random
training rows and are checkpointed), or, with ``negative_phase="exact"``, from enumerating
all 2**N states (N ≤ 20), which makes the gradient exact.

``training="pseudo_likelihood"`` maximises Σ_i log p(s_i | s_rest) = Σ_i log σ(2 s_i φ_i),
with local fields φ_i = h_i + Σ_j J_ij s_j, by mini-batch gradient descent (autograd): no
sampling at all, and a consistent estimator of the same parameters (Besag 1975; Aurell &
Ekeberg 2012 for the inverse Ising problem).

Both objectives are per sample and may carry ``l1 Σ_{i<j} |J_ij| + l2 Σ_{i<j} J_ij²`` on the
couplings (the L1 term by its subgradient); fields are not penalised.

Likelihood
----------
``score_samples`` and ``log_partition`` are exact, by enumerating the 2**N states, for
N ≤ 20 spins; larger models raise a ``ValueError`` that points to
``pseudo_log_likelihood`` (no annealed importance sampling here).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn.functional import softplus

from physgen.models.base import GenerativeModel
from physgen.samplers.visible_gibbs import heat_bath

TRAINING = ("moments", "pseudo_likelihood")
NEGATIVE_PHASES = ("mcmc", "exact")
MAX_EXACT_SPINS = 20
MAX_MONITOR_SPINS = 16   # history_ gets the exact log-likelihood up to this size
_MONITOR_ROWS = 1000     # rows used for the per-epoch pseudo-likelihood
_ENUM_CHUNK = 2 ** 16    # states per chunk when enumerating


class _PairwiseNet(nn.Module):
    """Parameters: ``fields`` (N,) and ``couplings`` (N (N - 1) / 2,), the upper triangle
    of J row by row (the order of ``torch.triu_indices(N, N, 1)``)."""

    def __init__(self, n_spins: int):
        super().__init__()
        self.fields = nn.Parameter(torch.zeros(n_spins))
        self.couplings = nn.Parameter(torch.zeros(n_spins * (n_spins - 1) // 2))
        rows, cols = torch.triu_indices(n_spins, n_spins, 1)
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)

    def coupling_matrix(self, dtype=None) -> torch.Tensor:
        """Symmetric J, shape (N, N), zero diagonal (differentiable in ``couplings``)."""
        values = self.couplings if dtype is None else self.couplings.to(dtype)
        n = len(self.fields)
        upper = values.new_zeros(n, n).index_put((self.rows, self.cols), values)
        return upper + upper.T

    def log_weight(self, s: torch.Tensor) -> torch.Tensor:
        """h·s + Σ_{i<j} J_ij s_i s_j per row of ``s`` (N,) -> (n,), in ``s``'s dtype."""
        J = self.coupling_matrix(s.dtype)
        return s @ self.fields.to(s.dtype) + 0.5 * ((s @ J) * s).sum(1)


def _spin_states(n_spins: int, start: int, stop: int, dtype, device) -> torch.Tensor:
    """States ``start..stop-1`` of all 2**n_spins ±1 configurations (spin i = bit i)."""
    codes = torch.arange(start, stop, dtype=torch.int64, device=device)[:, None]
    bits = (codes >> torch.arange(n_spins, dtype=torch.int64, device=device)) & 1
    return (2 * bits - 1).to(dtype)


def exact_statistics(net: _PairwiseNet, moments: bool = True):
    """log Z and, optionally, the exact means and second moments, by enumeration (float64).

    Returns
    -------
    log_z : 0-d Tensor
    mean : Tensor (N,) or None
        ⟨s_i⟩.
    second : Tensor (N, N) or None
        ⟨s_i s_j⟩ (ones on the diagonal).
    """
    n = len(net.fields)
    device = net.fields.device
    chunks = []
    for start in range(0, 2 ** n, _ENUM_CHUNK):
        s = _spin_states(n, start, min(start + _ENUM_CHUNK, 2 ** n), torch.float64, device)
        logits = net.log_weight(s)
        log_z = torch.logsumexp(logits, 0)
        if moments:
            w = torch.exp(logits - log_z)
            chunks.append((log_z, w @ s, (s * w[:, None]).T @ s))
        else:
            chunks.append((log_z, None, None))
    log_zs = torch.stack([c[0] for c in chunks])
    log_z = torch.logsumexp(log_zs, 0)
    if not moments:
        return log_z, None, None
    share = torch.exp(log_zs - log_z)   # each chunk's part of Z
    mean = sum(p * c[1] for p, c in zip(share, chunks))
    second = sum(p * c[2] for p, c in zip(share, chunks))
    return log_z, mean, second


class BoltzmannMachine(GenerativeModel):
    """Fully visible pairwise maximum-entropy model on ±1 spins (the inverse Ising problem).

    Parameters
    ----------
    training : {"moments", "pseudo_likelihood"}
        Maximum likelihood by moment matching, or maximum pseudo-likelihood.
    negative_phase : {"mcmc", "exact"}
        Model moments for ``"moments"``: persistent heat-bath chains, or enumeration of all
        2**N states (N ≤ 20; an exact gradient).
    n_chains : int
        Persistent chains of the MCMC negative phase.
    k : int
        Heat-bath sweeps of every chain per update.
    l1, l2 : float
        Penalties ``l1 Σ|J_ij| + l2 Σ J_ij²`` on the couplings (per-sample scale).
    burn_in : int
        Default number of heat-bath sweeps of ``sample`` from uniform noise.
    epochs, batch_size, learning_rate, optimizer, lr_schedule, seed, device, on_nonfinite
        Shared settings (see :mod:`physgen.models.base`). For ``"moments"`` an epoch is
        ``ceil(n_samples / batch_size)`` updates.

    Attributes
    ----------
    fields_ : np.ndarray of float64, shape (N,)
        h.
    couplings_ : np.ndarray of float64, shape (N, N)
        J, symmetric with a zero diagonal; pair (i, j) of the row-major flattened data.
    chains_ : Tensor of int8, shape (n_chains, N) or None
        The persistent chains after fitting (``"moments"`` with ``"mcmc"``).
    history_ : list of dict
        Per epoch: ``moment_error`` (``"moments"``: largest |data moment - model moment|,
        averaged over the epoch's updates; with MCMC it includes the chains' sampling
        noise, about 1/sqrt(n_chains)) or ``loss`` (``"pseudo_likelihood"``: the penalised
        negative pseudo-log-likelihood per sample); ``pseudo_log_likelihood`` (per sample,
        on up to 1000 training rows); ``log_likelihood`` (exact, per sample, whole
        training set, only for N ≤ 16); ``lr``; ``time``.

    Examples
    --------
    >>> import physgen as pg
    >>> X = pg.ising.sample(L=4, temperature=3.0, n_samples=20_000, seed=0)
    >>> bm = pg.models.BoltzmannMachine(seed=0).fit(X)
    >>> J = bm.couplings_        # J[0, 1] ≈ 1/3 (neighbours), J[0, 5] ≈ 0, fields_ ≈ 0
    """

    family = "bm"
    discrete_as = "spins"

    def __init__(self, *, training="moments", negative_phase="mcmc", n_chains=1000, k=1,
                 l1=0.0, l2=0.0, burn_in=1000, epochs=10, batch_size=256,
                 learning_rate=0.02, optimizer="adam", lr_schedule="linear", seed=None,
                 device="cpu", on_nonfinite="raise"):
        self._store_settings(locals())

    # --- hooks ---------------------------------------------------------------------------

    def _check_settings(self) -> None:
        super()._check_settings()
        self._require_choice("training", TRAINING)
        self._require_choice("negative_phase", NEGATIVE_PHASES)
        self._require_positive_int("n_chains", "k", "burn_in")
        for name in ("l1", "l2"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    def _build(self, n_features: int, generator) -> None:
        self.module_ = _PairwiseNet(n_features)
        self.chains_ = None

    def _start_training(self, x, y) -> None:
        if self.domain_ == "continuous":
            raise ValueError("a BoltzmannMachine needs ±1 spins or 0/1 bits; got continuous "
                             "values")
        n = self.n_features_
        if self.training == "moments" and self.negative_phase == "exact" \
                and n > MAX_EXACT_SPINS:
            raise ValueError(f"negative_phase='exact' enumerates all 2**N states and needs "
                             f"N <= {MAX_EXACT_SPINS} spins; the data has {n}. Use "
                             "negative_phase='mcmc'")
        net = self.module_
        s = x.double()
        self._data_mean = s.mean(0)
        self._data_pairs = ((s.T @ s) / len(s))[net.rows, net.cols]
        # start from the independent-spin fit, whose fields are exactly atanh ⟨s_i⟩
        with torch.no_grad():
            net.fields.copy_(torch.atanh(self._data_mean.clamp(-0.999, 0.999)))
        if self.training == "moments" and self.negative_phase == "mcmc":
            rows = torch.randint(len(x), (self.n_chains,), generator=self.generator_,
                                 device=self.generator_.device)
            self.chains_ = x[rows.to(x.device)].to(torch.int8).contiguous()

    def _training_rng(self):
        """Chain randomness: the NumPy stream on the CPU (faster), torch's on a GPU."""
        return self.rng_ if self.device_.type == "cpu" else self.generator_

    def _penalty_gradient(self, couplings):
        grad = torch.zeros_like(couplings)
        if self.l1:
            grad.add_(torch.sign(couplings), alpha=self.l1)
        if self.l2:
            grad.add_(couplings, alpha=2.0 * self.l2)
        return grad

    def _train_step(self, x, y, step: int) -> dict:
        if self.training == "pseudo_likelihood":
            return self._pseudo_likelihood_step(x)
        net = self.module_
        with torch.no_grad():
            if self.negative_phase == "exact":
                _, mean, second = exact_statistics(net)
            else:
                heat_bath(self.chains_, net.fields, net.coupling_matrix(), self.k,
                          self._training_rng())
                s = self.chains_.double()
                mean, second = s.mean(0), (s.T @ s) / len(s)
            # gradient of the mean NEGATIVE log-likelihood: model moments - data moments
            grad_h = mean - self._data_mean
            grad_J = second[net.rows, net.cols] - self._data_pairs
            error = torch.maximum(grad_h.abs().max(), grad_J.abs().max()) if len(grad_J) \
                else grad_h.abs().max()
            net.fields.grad = grad_h.to(net.fields.dtype)
            net.couplings.grad = grad_J.to(net.couplings.dtype) \
                + self._penalty_gradient(net.couplings)
            self.optimizers_["model"].step()
        return {"moment_error": error}

    def _pseudo_likelihood_step(self, x) -> dict:
        net = self.module_
        optimizer = self.optimizers_["model"]
        optimizer.zero_grad(set_to_none=True)
        loss = -self._pseudo_log_likelihood(x).mean()
        if self.l1:
            loss = loss + self.l1 * net.couplings.abs().sum()
        if self.l2:
            loss = loss + self.l2 * net.couplings.square().sum()
        loss.backward()
        optimizer.step()
        return {"loss": loss.detach()}

    def _end_of_epoch(self, x, y) -> dict:
        record = {}
        with torch.no_grad():
            rows = x[::-(-len(x) // _MONITOR_ROWS)]
            record["pseudo_log_likelihood"] = float(self._pseudo_log_likelihood(rows).mean())
            if self.n_features_ <= MAX_MONITOR_SPINS:
                net = self.module_
                log_z, _, _ = exact_statistics(net, moments=False)
                record["log_likelihood"] = float(
                    self._data_mean @ net.fields.double()
                    + self._data_pairs @ net.couplings.double() - log_z)
        return record

    def _get_training_state(self) -> dict:
        return {} if self.chains_ is None else {"chains": self.chains_}

    def _set_training_state(self, tensors: dict) -> None:
        if "chains" in tensors:
            self.chains_ = tensors["chains"].to(self.device_).contiguous()

    def _sample(self, n: int, y, generator, burn_in=None, init=None):
        sweeps = self.burn_in if burn_in is None else burn_in
        if isinstance(sweeps, bool) or not isinstance(sweeps, (int, np.integer)) or sweeps < 0:
            raise ValueError(f"burn_in must be a non-negative integer, got {sweeps!r}")
        net = self.module_
        with torch.no_grad():
            if init is None:
                bits = torch.randint(2, (n, self.n_features_), generator=generator,
                                     device=self.device_, dtype=torch.int8)
                spins = 2 * bits - 1
            else:
                spins = init.to(torch.int8).contiguous()
            return heat_bath(spins, net.fields, net.coupling_matrix(), int(sweeps), generator)

    def _log_prob(self, x, y):
        with torch.no_grad():
            return self.module_.log_weight(x.double()) - self._log_partition()

    # --- helpers -------------------------------------------------------------------------

    def _pseudo_log_likelihood(self, s):
        """Σ_i log p(s_i | s_rest) = -Σ_i softplus(-2 s_i φ_i) per row, in ``s``'s dtype."""
        net = self.module_
        local = torch.addmm(net.fields.to(s.dtype), s, net.coupling_matrix(s.dtype))
        return -softplus(-2.0 * s * local).sum(1)

    def _log_partition(self):
        n = self.n_features_
        if n > MAX_EXACT_SPINS:
            raise ValueError(f"exact log Z enumerates all 2**N states and needs N <= "
                             f"{MAX_EXACT_SPINS} spins; this model has {n}. Use "
                             "pseudo_log_likelihood(X) to compare models of this size")
        return exact_statistics(self.module_, moments=False)[0]

    # --- public methods beyond the contract ------------------------------------------------

    @property
    def fields_(self) -> np.ndarray:
        if not hasattr(self, "module_"):
            raise AttributeError("fields_ exists after fit (or physgen.load)")
        return self.module_.fields.detach().to("cpu", torch.float64).numpy().copy()

    @property
    def couplings_(self) -> np.ndarray:
        if not hasattr(self, "module_"):
            raise AttributeError("couplings_ exists after fit (or physgen.load)")
        return self.module_.coupling_matrix(torch.float64).detach().cpu().numpy()

    def sample(self, n_samples: int, y=None, seed=None, *, burn_in: int | None = None,
               init=None) -> np.ndarray:
        """Heat-bath samples, shape ``(n_samples, *event_shape_)``, in the fitted domain.

        Each sample is the end of its own chain, started from uniform noise (or ``init``).

        Parameters
        ----------
        burn_in : int, optional
            Heat-bath sweeps per chain (default: the ``burn_in`` setting).
        init : array-like, shape (n_samples, *event_shape_), optional
            Start the chains from these configurations instead of uniform noise.
        """
        return super().sample(n_samples, y, seed, burn_in=burn_in,
                              init=self._check_init(init, n_samples))

    def energy(self, X) -> np.ndarray:
        """E(s) = -(h·s + Σ_{i<j} J_ij s_i s_j) for each row of ``X``, float64, (n_samples,)."""
        with torch.no_grad():
            return -self.module_.log_weight(self._check_X(X).double()).cpu().numpy()

    def pseudo_log_likelihood(self, X) -> np.ndarray:
        """Σ_i log p(s_i | s_rest) for each row of ``X`` (all sites, not a one-site
        estimate), float64, shape (n_samples,). Needs no partition function."""
        with torch.no_grad():
            return self._pseudo_log_likelihood(self._check_X(X).double()).cpu().numpy()

    def log_partition(self) -> float:
        """Exact log Z by enumerating all 2**N states (N ≤ 20), float64."""
        self._check_fitted()
        with torch.no_grad():
            return float(self._log_partition())
