"""Restricted Boltzmann machine with binary (Bernoulli) visible and hidden units.

Energy (REFERENCE.md): E(v, h) = -aᵀv - bᵀh - vᵀWh, with ``a`` the visible bias and ``b``
the hidden bias; free energy F(v) = -aᵀv - Σ_j softplus(b_j + (vᵀW)_j);
p(h_j = 1 | v) = σ(b_j + (vᵀW)_j), p(v_i = 1 | h) = σ(a_i + (Wh)_i).

Spin data (±1) is mapped to bits inside and back on output; 0/1 bits and continuous data in
[0, 1] (treated as probabilities, as scikit-learn's BernoulliRBM does) are used directly.
Training is contrastive divergence (``training="cd"``, k Gibbs steps from the data) or
persistent CD (``"pcd"``, chains kept across updates and checkpointed). The gradient is
computed in closed form under ``torch.no_grad`` (the negative phase is never part of a
graph) and handed to the shared optimizer through ``.grad``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn.functional import softplus

from physgen.models.base import GenerativeModel
from physgen.samplers.gibbs import bernoulli, block_gibbs

VISIBLE_UNITS = ("bernoulli",)
TRAINING = ("cd", "pcd")
MAX_EXACT_UNITS = 20
_PL_ROWS = 1000          # rows used for the per-epoch pseudo-likelihood
_ENUM_CHUNK = 2 ** 14    # states per chunk when enumerating a layer


class _RBMNet(nn.Module):
    """Parameters: ``W`` (n_visible, n_hidden), ``visible_bias`` (a), ``hidden_bias`` (b)."""

    def __init__(self, n_visible: int, n_hidden: int):
        super().__init__()
        self.W = nn.Parameter(torch.zeros(n_visible, n_hidden))
        self.visible_bias = nn.Parameter(torch.zeros(n_visible))
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden))


def _enumerate_states(n_units: int, start: int, stop: int, dtype) -> torch.Tensor:
    """Rows ``start..stop-1`` of all 2**n_units binary states, shape (stop-start, n_units)."""
    index = torch.arange(start, stop, dtype=torch.int64)[:, None]
    return ((index >> torch.arange(n_units, dtype=torch.int64)) & 1).to(dtype)


class RBM(GenerativeModel):
    """Bernoulli-Bernoulli restricted Boltzmann machine.

    Parameters
    ----------
    n_hidden : int
        Number of hidden units.
    visible : {"bernoulli"}
        Visible unit type.
    training : {"cd", "pcd"}
        Contrastive divergence from the data, or persistent chains.
    k : int
        Gibbs sweeps per update.
    n_chains : int, optional
        Persistent chains for ``"pcd"`` (default: ``batch_size``).
    weight_decay : float
        L2 penalty on ``W`` (not the biases), added to its gradient.
    momentum : float
        Momentum for ``optimizer="sgd"`` / ``"rmsprop"``.
    init_std : float
        Standard deviation of the initial weights.
    burn_in : int
        Default number of Gibbs sweeps of ``sample`` from noise.
    epochs, batch_size, learning_rate, optimizer, lr_schedule, seed, device, on_nonfinite
        Shared settings (see :mod:`physgen.models.base`).

    Attributes
    ----------
    module_ : nn.Module with ``W``, ``visible_bias``, ``hidden_bias``
    chains_ : Tensor (n_chains, n_hidden) or None
        Hidden states of the persistent chains (``training="pcd"``) after fitting.
    history_ : list of dict
        Per epoch: ``loss`` (mean free energy of the data minus that of the negative samples,
        whose gradient is the CD update), ``pseudo_log_likelihood`` (per sample, on up to
        1000 training rows), ``lr``, ``time``.
    """

    family = "rbm"
    discrete_as = "bits"

    def __init__(self, n_hidden=16, *, visible="bernoulli", training="pcd", k=1, n_chains=None,
                 weight_decay=0.0, momentum=0.0, init_std=0.01, burn_in=1000, epochs=10,
                 batch_size=64, learning_rate=0.01, optimizer="sgd", lr_schedule="constant",
                 seed=None, device="cpu", on_nonfinite="raise"):
        self._store_settings(locals())

    # --- hooks ---------------------------------------------------------------------------

    def _check_settings(self) -> None:
        super()._check_settings()
        self._require_positive_int("n_hidden", "k", "burn_in")
        self._require_positive_int("n_chains", allow_none=True)
        self._require_choice("visible", VISIBLE_UNITS)
        self._require_choice("training", TRAINING)
        for name in ("weight_decay", "momentum", "init_std"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")

    def _build(self, n_features: int, generator) -> None:
        self.module_ = _RBMNet(n_features, self.n_hidden)
        with torch.no_grad():
            self.module_.W.normal_(0.0, self.init_std, generator=generator)
        self.chains_ = None

    def _configure_optimizers(self) -> dict:
        return {"model": self._make_optimizer(self.module_.parameters(),
                                              momentum=self.momentum)}

    def _start_training(self, x, y) -> None:
        if self.domain_ == "continuous" and bool(((x < 0) | (x > 1)).any()):
            raise ValueError("a Bernoulli RBM needs data in [0, 1] (spins, bits or "
                             "probabilities); got values outside")
        # visible bias at the data's log-odds (Hinton 2010, "A practical guide", §8)
        p = x.mean(0).clamp(1e-3, 1 - 1e-3)
        with torch.no_grad():
            self.module_.visible_bias.copy_(torch.log(p / (1 - p)))
        if self.training == "pcd":
            n_chains = self.n_chains or self.batch_size
            self.chains_ = bernoulli(torch.full((n_chains, self.n_hidden), 0.5,
                                                device=self.device_), self._training_rng())

    def _training_rng(self):
        """Training randomness: the NumPy stream on the CPU (faster), torch's on a GPU."""
        return self.rng_ if self.device_.type == "cpu" else self.generator_

    def _negative_phase(self, h, k: int, rng):
        """k sweeps h -> v -> h from hidden states ``h``; returns the last visible sample,
        its hidden pre-activation and hidden probabilities."""
        net = self.module_
        for sweep in range(k):
            if sweep:
                h = bernoulli(p_h, rng)
            v = bernoulli(torch.sigmoid(torch.addmm(net.visible_bias, h, net.W.T)), rng)
            pre = torch.addmm(net.hidden_bias, v, net.W)
            p_h = torch.sigmoid(pre)
        return v, pre, p_h

    def _train_step(self, x, y, step: int) -> dict:
        net = self.module_
        W, a, b = net.W, net.visible_bias, net.hidden_bias
        rng = self._training_rng()
        with torch.no_grad():
            pre_pos = torch.addmm(b, x, W)
            ph_pos = torch.sigmoid(pre_pos)
            # CD starts the chains at the data; PCD keeps hidden states between updates, so
            # one update costs the same sweep h -> v -> h as CD-1 (and as scikit-learn)
            h = bernoulli(ph_pos, rng) if self.training == "cd" else self.chains_
            v, pre_neg, ph_neg = self._negative_phase(h, self.k, rng)
            if self.training == "pcd":
                self.chains_ = bernoulli(ph_neg, rng)
            n, m = len(x), len(v)
            # gradient of the mean negative log-likelihood: negative phase - positive phase
            grad_W = torch.mm(v.T, ph_neg).mul_(1.0 / m).addmm_(x.T, ph_pos, alpha=-1.0 / n)
            if self.weight_decay:
                grad_W.add_(W, alpha=self.weight_decay)
            grad_a = v.mean(0) - x.mean(0)
            # F(data) - F(model) averaged: the quantity whose gradient this update follows
            loss = softplus(pre_neg).sum() / m - softplus(pre_pos).sum() / n + a @ grad_a
            W.grad, a.grad, b.grad = grad_W, grad_a, ph_neg.mean(0) - ph_pos.mean(0)
            self.optimizers_["model"].step()
        return {"loss": loss}

    def _end_of_epoch(self, x, y) -> dict:
        generator = self.generator_
        index = torch.randperm(len(x), generator=generator, device=generator.device)[:_PL_ROWS]
        return {"pseudo_log_likelihood": float(self._pseudo_log_likelihood(x[index], generator)
                                               .mean())}

    def _get_training_state(self) -> dict:
        return {} if self.chains_ is None else {"chains": self.chains_}

    def _set_training_state(self, tensors: dict) -> None:
        if "chains" in tensors:
            self.chains_ = tensors["chains"].to(self.device_)

    def _sample(self, n: int, y, generator, burn_in=None, init=None):
        steps = self.burn_in if burn_in is None else burn_in
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"burn_in must be a non-negative integer, got {steps!r}")
        with torch.no_grad():
            if init is None:
                v = bernoulli(torch.full((n, self.n_features_), 0.5, device=self.device_),
                              generator)
            else:
                v = init
            v, mean_v = block_gibbs(v, self._sample_hidden, self._sample_visible, int(steps),
                                    generator)
        # discrete data: the binary sample; continuous data in [0, 1]: the mean p(v = 1 | h)
        return mean_v if self.domain_ == "continuous" and mean_v is not None else v

    def _log_prob(self, x, y):
        if self.domain_ == "continuous":
            raise ValueError("score_samples needs binary data: the RBM was fitted on "
                             "continuous values, for which a Bernoulli RBM has no likelihood")
        return -self._free_energy(x.double()) - self.log_partition()

    # --- conditionals (Gibbs sampling building blocks) -----------------------------------

    def _hidden_probabilities(self, v):
        net = self.module_
        return torch.sigmoid(torch.addmm(net.hidden_bias.to(v.dtype), v, net.W.to(v.dtype)))

    def _sample_hidden(self, v, generator):
        p = self._hidden_probabilities(v)
        return bernoulli(p, generator), p

    def _sample_visible(self, h, generator):
        net = self.module_
        p = torch.sigmoid(torch.addmm(net.visible_bias, h, net.W.T))
        return bernoulli(p, generator), p

    def _free_energy(self, v):
        """F(v) per row, in ``v``'s dtype."""
        net = self.module_
        W, a, b = (t.detach().to(v.dtype) for t in (net.W, net.visible_bias, net.hidden_bias))
        return -(v @ a) - softplus(torch.addmm(b, v, W)).sum(1)

    def _pseudo_log_likelihood(self, v, generator):
        """N · log σ(F(v with one random unit flipped) - F(v)) per row (as scikit-learn)."""
        rows = torch.arange(len(v), device=v.device)
        units = torch.randint(v.shape[1], (len(v),), generator=generator, device=v.device)
        flipped = v.clone()
        flipped[rows, units] = 1 - flipped[rows, units]
        return -v.shape[1] * softplus(self._free_energy(v) - self._free_energy(flipped))

    # --- public methods beyond the contract ------------------------------------------------

    def sample(self, n_samples: int, y=None, seed=None, *, burn_in: int | None = None,
               init=None) -> np.ndarray:
        """Block Gibbs samples, shape ``(n_samples, *event_shape_)`` in the fitted domain.

        Parameters
        ----------
        burn_in : int, optional
            Gibbs sweeps (default: the ``burn_in`` setting).
        init : array-like, shape (n_samples, *event_shape_), optional
            Start the chains from these configurations instead of uniform noise.
        """
        start = None
        if init is not None:
            start = self._check_X(init, "init")
            if len(start) != n_samples:
                raise ValueError(f"init holds {len(start)} configurations, n_samples is "
                                 f"{n_samples}")
        return super().sample(n_samples, y, seed, burn_in=burn_in, init=start)

    def free_energy(self, X) -> np.ndarray:
        """F(v) for each row of ``X`` (fitted domain), shape ``(n_samples,)``, float64."""
        with torch.no_grad():
            return self._free_energy(self._check_X(X).double()).cpu().numpy()

    def transform(self, X) -> np.ndarray:
        """Hidden probabilities p(h = 1 | v), shape ``(n_samples, n_hidden)``, float32."""
        with torch.no_grad():
            return self._hidden_probabilities(self._check_X(X)).cpu().numpy()

    def log_partition(self) -> float:
        """Exact log Z by enumerating the smaller layer (at most 20 units), in float64."""
        self._check_fitted()
        net = self.module_
        W, a, b = (t.detach().double() for t in (net.W, net.visible_bias, net.hidden_bias))
        n_visible, n_hidden = W.shape
        if min(n_visible, n_hidden) > MAX_EXACT_UNITS:
            raise ValueError(f"exact log Z enumerates the smaller layer and needs at most "
                             f"{MAX_EXACT_UNITS} units there; this RBM has {n_visible} visible "
                             f"and {n_hidden} hidden units")
        if n_hidden <= n_visible:   # sum over h of exp(bᵀh) Π_i (1 + exp(a_i + (Wh)_i))
            n_units, own, other, weights = n_hidden, b, a, W.T
        else:                       # sum over v of exp(-F(v))
            n_units, own, other, weights = n_visible, a, b, W
        parts = []
        for start in range(0, 2 ** n_units, _ENUM_CHUNK):
            states = _enumerate_states(n_units, start, min(start + _ENUM_CHUNK, 2 ** n_units),
                                       torch.float64).to(W.device)
            terms = states @ own + softplus(torch.addmm(other, states, weights)).sum(1)
            parts.append(torch.logsumexp(terms, 0))
        return float(torch.logsumexp(torch.stack(parts), 0))
