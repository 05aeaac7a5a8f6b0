"""Restricted Boltzmann machine with binary hidden units and Bernoulli or Gaussian visible
units.

Energies (REFERENCE.md; ``a`` is the visible bias, ``b`` the hidden one):

- Bernoulli visible units: E(v, h) = -aᵀv - bᵀh - vᵀWh, F(v) = -aᵀv - Σ_j softplus(u_j),
  u = b + Wᵀv, p(h_j = 1 | v) = σ(u_j), p(v_i = 1 | h) = σ(a_i + (Wh)_i).
- Gaussian visible units with per-unit σ_i: E(v, h) = Σ_i (v_i - a_i)²/(2σ_i²) - bᵀh
  - Σ_ij (v_i/σ_i²) W_ij h_j, u = b + Wᵀ(v/σ²), p(h_j = 1 | v) = σ(u_j),
  p(v_i | h) = N(a_i + (Wh)_i, σ_i²), F(v) = Σ_i (v_i - a_i)²/(2σ_i²) - Σ_j softplus(u_j).
  σ is fixed or learned (as log σ).

Spin data (±1) is mapped to bits inside and back on output; 0/1 bits and, for Bernoulli
units, continuous data in [0, 1] (treated as probabilities, as scikit-learn's BernoulliRBM
does) are used directly.

Training follows the log-likelihood gradient, positive phase (data) minus negative phase
(model samples), computed in closed form under ``torch.no_grad`` (the negative phase is never
part of a graph; the hidden units enter through p(h | v), the free-energy gradient):

- ``"cd"``: k Gibbs sweeps from the data (contrastive divergence);
- ``"pcd"``: persistent chains kept across updates (hidden states, checkpointed);
- ``"pt"``: persistent chains at ``n_temperatures`` inverse temperatures β from 1 to 0 with
  replica exchanges (:mod:`physgen.samplers.tempering`), the negative samples taken from
  β = 1. The tempered models interpolate between the base-rate model (W = 0, visible
  biases at the data's marginals; Salakhutdinov & Murray 2008) and the RBM,
  E_β = (1 - β) E_base + β E, so the hottest replica samples the base model exactly and
  chains cross between the modes of a multimodal model through it.

With ``optimizer="sgd"`` and no momentum the update is applied in place (fused), without
gradient tensors or an optimizer step; other optimizers get the gradient through ``.grad``.
``log_partition`` is exact by enumeration when a layer is small enough, else estimated by
annealed importance sampling (:mod:`physgen.samplers.ais`) along the same interpolation.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn.functional import softplus

from physgen.models.base import GenerativeModel
from physgen.models._rbm_partition import PartitionFunction
from physgen.samplers.ais import AISResult
from physgen.samplers.gibbs import bernoulli, block_gibbs, gaussian
from physgen.samplers.tempering import parallel_tempering, temperature_ladder

VISIBLE_UNITS = ("bernoulli", "gaussian")
TRAINING = ("cd", "pcd", "pt")
LOG_PARTITION_METHODS = ("auto", "exact", "ais")
_MONITOR_EXACT_UNITS = 12   # Gaussian units: exact log-likelihood logged per epoch up to this
# log σ learns more slowly than the weights: with equal rates σ grows to the data's spread
# before W has split it into modes, and W = 0 with σ = that spread is a stationary point
_SIGMA_LR_FACTOR = 0.1
_OFFSET_RATE = 0.01         # sliding-average rate of the hidden offsets λ (Melchior et al.)
_MIN_STD = 1e-3             # floor of the base model's standard deviations (constant features)


class _RBMNet(nn.Module):
    """Parameters ``W`` (n_visible, n_hidden), ``visible_bias`` (a), ``hidden_bias`` (b) and,
    for Gaussian units, ``log_sigma``; buffers of the base-rate model used by parallel
    tempering and AIS: ``base_visible_bias`` (log-odds of the data's marginals, or their
    means for Gaussian units) and, for Gaussian units, ``base_log_sigma``."""

    def __init__(self, n_visible: int, n_hidden: int, gaussian_units: bool = False):
        super().__init__()
        self.W = nn.Parameter(torch.zeros(n_visible, n_hidden))
        self.visible_bias = nn.Parameter(torch.zeros(n_visible))
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden))
        self.register_buffer("base_visible_bias", torch.zeros(n_visible))
        if gaussian_units:
            self.log_sigma = nn.Parameter(torch.zeros(n_visible))
            self.register_buffer("base_log_sigma", torch.zeros(n_visible))


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class RBM(PartitionFunction, GenerativeModel):
    """Restricted Boltzmann machine: binary hidden units, Bernoulli or Gaussian visible units.

    Parameters
    ----------
    n_hidden : int
        Number of hidden units.
    visible : {"bernoulli", "gaussian"}
        Visible unit type.
    sigma : float or None
        Gaussian units: the standard deviation σ of every visible unit (its initial value
        when ``learn_sigma``); None uses each feature's standard deviation in the data.
        Ignored for Bernoulli units.
    learn_sigma : bool
        Gaussian units: learn a σ per visible unit (as log σ) along with the weights.
    training : {"pt", "pcd", "cd"}
        Parallel-tempering persistent chains, persistent chains at β = 1, or contrastive
        divergence from the data.
    k : int
        Gibbs sweeps per update (for ``"pt"`` each sweep is followed by exchanges).
    n_chains : int, optional
        Persistent chains (per temperature for ``"pt"``); default ``batch_size``.
    n_temperatures : int
        Rungs of the ``"pt"`` ladder, β evenly spaced from 1 down to 0 (the base-rate model).
    centering : bool
        Follow the centred gradient (Montavon & Müller 2012; Melchior, Fischer & Wiskott
        2016): the gradient of the same model written with offsets, the data means μ of the
        visible units and a running mean λ of p(h | data), mapped back to W, a, b. It removes
        the large common-mode noise of the plain estimate (the model is the same; the
        updates differ), which persistent chains need to learn multimodal data.
    weight_decay : float
        L2 penalty on ``W`` (not the biases), added to its gradient.
    momentum : float
        Momentum for ``optimizer="sgd"`` / ``"rmsprop"``.
    init_std : float
        Standard deviation of the initial weights.
    burn_in : int
        Default number of Gibbs sweeps of ``sample`` from noise.
    n_monitor_rows : int
        Training rows drawn at random after each epoch for the monitoring values of
        ``history_`` (``loss``, ``pseudo_log_likelihood``, ``log_likelihood``); 0 logs none
        of them, so that an epoch costs the updates alone (as scikit-learn's BernoulliRBM
        without ``verbose``). Monitoring never changes the fit.
    epochs, batch_size, learning_rate, optimizer, lr_schedule, seed, device, on_nonfinite
        Shared settings (see :mod:`physgen.models.base`). The defaults (Adam, learning rate
        0.03 decaying linearly to 0, 200 epochs of batches of 128, parallel tempering with
        10 temperatures and 128 chains each, centred gradients) fit the 4×4 Ising model at
        T_c from 10 000 samples to an exact KL(p ‖ model) of about 0.01 nats (15 800 updates).

    Attributes
    ----------
    module_ : nn.Module with ``W``, ``visible_bias``, ``hidden_bias`` (and ``log_sigma``)
    chains_ : Tensor or None
        Hidden states of the persistent chains after fitting: (n_chains, n_hidden) for
        ``"pcd"``, (n_temperatures, n_chains, n_hidden) for ``"pt"`` (β = 1 first).
    history_ : list of dict
        Per epoch: ``loss`` (mean free energy of up to ``n_monitor_rows`` training rows
        minus that of the last negative samples: the quantity whose gradient the update
        follows), ``pseudo_log_likelihood`` (Bernoulli units; per sample, on the same rows),
        ``log_likelihood`` (Gaussian units with at most 12 hidden units: exact, per sample),
        ``swap_rate`` and ``swap_rate_min`` (``"pt"``: mean and lowest acceptance of the
        exchanges between neighbouring temperatures), ``lr``, ``time``.
    """

    family = "rbm"
    discrete_as = "bits"

    def __init__(self, n_hidden=16, *, visible="bernoulli", sigma=1.0, learn_sigma=False,
                 training="pt", k=1, n_chains=None, n_temperatures=10, centering=True,
                 weight_decay=0.0,
                 momentum=0.0, init_std=0.01, burn_in=1000, n_monitor_rows=1000,
                 epochs=200, batch_size=128,
                 learning_rate=0.03, optimizer="adam", lr_schedule="linear", seed=None,
                 device="cpu", on_nonfinite="raise"):
        self._store_settings(locals())

    # --- settings ------------------------------------------------------------------------

    def _check_settings(self) -> None:
        super()._check_settings()
        self._require_positive_int("n_hidden", "k", "burn_in", "n_temperatures")
        self._require_positive_int("n_chains", allow_none=True)
        if isinstance(self.n_monitor_rows, bool) or not isinstance(
                self.n_monitor_rows, (int, np.integer)) or self.n_monitor_rows < 0:
            raise ValueError(f"n_monitor_rows must be an integer >= 0 (0: no monitoring), got "
                             f"{self.n_monitor_rows!r}")
        self._require_choice("visible", VISIBLE_UNITS)
        self._require_choice("training", TRAINING)
        self._require_choice("learn_sigma", (True, False))
        self._require_choice("centering", (True, False))
        if self.sigma is not None and (isinstance(self.sigma, bool) or not isinstance(
                self.sigma, (int, float)) or not 0 < self.sigma < math.inf):
            raise ValueError(f"sigma must be a positive number or None (the data's standard "
                             f"deviations), got {self.sigma!r}")
        for name in ("weight_decay", "momentum", "init_std"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")

    @property
    def _gaussian(self) -> bool:
        return self.visible == "gaussian"

    # --- hooks ---------------------------------------------------------------------------

    def _build(self, n_features: int, generator) -> None:
        self.module_ = _RBMNet(n_features, self.n_hidden, self._gaussian)
        with torch.no_grad():
            self.module_.W.normal_(0.0, self.init_std, generator=generator)
        self.chains_ = None

    def _configure_optimizers(self) -> dict:
        # the fused (single-kernel) Adam takes half the time of the default one on small
        # tensors, where the per-op overhead dominates
        fused = {"fused": True} if self.optimizer in ("adam", "adamw") else {}
        net = self.module_
        groups = [{"params": [net.W, net.visible_bias, net.hidden_bias]}]
        if self._gaussian:
            groups.append({"params": [net.log_sigma],
                           "lr": self.learning_rate * _SIGMA_LR_FACTOR})
        return {"model": self._make_optimizer(groups, momentum=self.momentum, **fused)}

    def _start_training(self, x, y) -> None:
        self._initialise_from_data(x)
        self._prepare_training(self.n_chains or self.batch_size)
        self._start_chains()

    def _initialise_from_data(self, x) -> None:
        """Visible biases (and σ) from the data; the base-rate model of tempering and AIS."""
        net = self.module_
        if self._gaussian:
            mean, std = x.mean(0), x.std(0, correction=0).clamp(min=_MIN_STD)
            sigma = std if self.sigma is None else torch.full_like(mean, float(self.sigma))
            with torch.no_grad():
                net.visible_bias.copy_(mean)
                net.base_visible_bias.copy_(mean)
                net.log_sigma.copy_(sigma.log())
                net.base_log_sigma.copy_(std.log())
            return
        # spins and bits are in [0, 1] inside by construction; continuous data is checked in
        # one pass (aminmax) rather than three boolean ones (on (a) of the benchmark those
        # cost a tenth of an epoch)
        if getattr(self, "domain_", "continuous") == "continuous":
            low, high = torch.aminmax(x)
            if bool(low < 0) or bool(high > 1):
                raise ValueError("a Bernoulli RBM needs data in [0, 1] (spins, bits or "
                                 "probabilities); got values outside; use visible='gaussian' "
                                 "for real-valued data")
        # visible bias at the data's log-odds (Hinton 2010, "A practical guide", §8)
        p = x.mean(0).clamp(1e-3, 1 - 1e-3)
        with torch.no_grad():
            net.visible_bias.copy_(torch.log(p / (1 - p)))
            net.base_visible_bias.copy_(net.visible_bias)

    def _prepare_training(self, n_chains: int) -> None:
        """Training-only attributes that hold no randomness (rebuilt on resume)."""
        self._n_chains = n_chains
        self._beta_rows = None
        if self.training == "pt":
            betas = temperature_ladder(self.n_temperatures)
            self._betas = torch.as_tensor(betas, dtype=torch.float32, device=self.device_)
            self._beta_rows = self._betas.repeat_interleave(n_chains)[:, None]
        self._manual_sgd = self.optimizer == "sgd" and not self.momentum
        self._fused_sgd = self._manual_sgd and not self.centering and not self.learn_sigma
        self._sklearn_step = (self._fused_sgd and self.training == "pcd" and self.k == 1
                              and not self._gaussian)
        self._pcd_batches: dict = {}
        self._rng_train = self._training_rng()
        # looked up once: at small sizes a step is a few microseconds of arithmetic per
        # tensor operation, and Module attribute lookups would add as much again
        net = self.module_
        self._tensors = (net.W, net.visible_bias, net.hidden_bias)
        if self._sklearn_step:
            # aliases sharing storage and version counter: in-place updates through them
            # need no grad-mode context and are never recorded
            W, a, b = (t.detach() for t in self._tensors)
            self._detached = (W, W.T, a, b)
            m, (n_visible, n_hidden) = n_chains, net.W.shape
            options = {"device": self.device_, "dtype": net.W.dtype}
            draws = torch.empty(m * (n_visible + n_hidden), **options)
            numpy_draws = isinstance(self._rng_train, np.random.Generator)
            self._pcd_shared = (draws, draws.numpy() if numpy_draws else None,
                                draws[:m * n_visible].view(m, n_visible),
                                draws[m * n_visible:].view(m, n_hidden),
                                torch.empty(m, n_visible, **options),
                                torch.empty(m, n_hidden, **options))
        # the optimizer itself, not its param_groups[0]: load_state_dict (a resume) replaces
        # the group dicts, and the learning rate set by the loop is in the new ones
        self._optimizer = self.optimizers_["model"]
        # centred gradients (Montavon & Müller 2012; Melchior et al. 2016): offsets μ for the
        # visible units (the data means) and λ for the hidden ones (a running mean of
        # p(h | data)), λ updated after each step
        self._hidden_offset = (torch.full((self.n_hidden,), 0.5, device=self.device_)
                               if self.centering else None)
        self._ones: dict = {}
        self._last_negative = None
        self._swap_counts = None

    def _start_chains(self) -> None:
        """Persistent chains: random hidden states (one set per temperature for "pt")."""
        self.chains_ = None
        shape = {"pcd": (self._n_chains, self.n_hidden),
                 "pt": (self.n_temperatures, self._n_chains, self.n_hidden)}.get(self.training)
        if shape is not None:
            self.chains_ = bernoulli(torch.full(shape, 0.5, device=self.device_),
                                     self._training_rng())

    def _training_rng(self):
        """Training randomness: the NumPy stream on the CPU (faster), torch's on a GPU."""
        return self.rng_ if self.device_.type == "cpu" else self.generator_

    def _train_step(self, x, y, step: int) -> dict:
        if self._sklearn_step:
            return self._persistent_sgd_step(x)
        W, _, b = self._tensors
        rng = self._rng_train
        with torch.no_grad():
            s_pos = self._scaled(x)
            ph_pos = torch.addmm(b, s_pos, W).sigmoid_()
            if self.training == "cd":
                v, ph_neg = self._gibbs_from_hidden(bernoulli(ph_pos, rng), self.k, rng)
            elif self.training == "pcd":
                v, ph_neg = self._gibbs_from_hidden(self.chains_, self.k, rng)
                self.chains_ = bernoulli(ph_neg, rng)
            else:
                v, ph_neg = self._tempered_negative_phase(step, rng)
            self._update(x, s_pos, ph_pos, v, ph_neg)
        self._last_negative = v
        return {}

    def _persistent_sgd_step(self, x) -> dict:
        """PCD-1 with plain SGD and no centring on Bernoulli units (scikit-learn's
        BernoulliRBM algorithm), written with the fewest tensor operations.

        Why a hand-written step: for small RBMs the per-operation overhead (dispatch,
        allocation, autograd bookkeeping), not the arithmetic, is the cost of a step, and
        for large ones the three matrix products are. So every operation writes into
        buffers kept across steps (:meth:`_pcd_buffers`), works on detached aliases of the
        parameters (no ``torch.no_grad`` context to enter, nothing recorded), and the data
        and negative samples share one matrix: one product gives both phases' p(h | v) and
        one product the whole weight update. The random draws, their order and the
        arithmetic are those of the general path (:meth:`_update` with ``_fused_sgd``).
        """
        W, W_T, a, b = self._detached
        n = x.shape[0]
        draws, draws_numpy, draws_v, draws_h, p_v, chains = self._pcd_shared
        both, both_T, data, v, p_h, p_h_negative, coefficients, coefficient_vector, ones = (
            self._pcd_batches.get(n) or self._pcd_buffers(n))
        if self.chains_ is not chains:   # first step, or chains restored from a checkpoint
            chains.copy_(self.chains_)
            self.chains_ = chains
        # one draw for the visible sample and the chains' next hidden states
        if draws_numpy is not None:
            self._rng_train.random(out=draws_numpy, dtype=draws_numpy.dtype)
        else:
            torch.rand(draws.shape, generator=self._rng_train, out=draws)
        torch.addmm(a, chains, W_T, out=p_v).sigmoid_()
        torch.lt(draws_v, p_v, out=v)
        data.copy_(x)
        torch.addmm(b, both, W, out=p_h).sigmoid_()
        torch.lt(draws_h, p_h_negative, out=chains)
        lr = self._optimizer.param_groups[0]["lr"]
        if self.weight_decay:
            W.mul_(1.0 - lr * self.weight_decay)
        p_h.mul_(coefficients)   # rows scaled by 1/n (data) and -1/m (negative samples)
        W.addmm_(both_T, p_h, alpha=lr)
        a.addmv_(both_T, coefficient_vector, alpha=lr)
        b.addmv_(p_h.T, ones, alpha=lr)
        self._last_negative = v
        return {}

    def _pcd_buffers(self, n: int) -> tuple:
        """Buffers of :meth:`_persistent_sgd_step` for batches of ``n`` rows (kept per
        batch size: the last batch of an epoch may be smaller), with the views the step
        uses (made once: a view costs about a microsecond, as much as a small operation):
        the stacked data and negative samples (n + m, n_visible), its transpose, its data
        and negative rows, their p(h | v) (n + m, n_hidden) and its negative rows, the row
        coefficients 1/n and -1/m (n + m, 1), the same as a vector, and ones (n + m,)."""
        m = self._n_chains
        n_visible, n_hidden = self.module_.W.shape
        options = {"device": self.device_, "dtype": self.module_.W.dtype}
        both = torch.empty(n + m, n_visible, **options)
        p_h = torch.empty(n + m, n_hidden, **options)
        coefficients = torch.cat([torch.full((n, 1), 1.0 / n, **options),
                                  torch.full((m, 1), -1.0 / m, **options)])
        buffers = self._pcd_batches[n] = (
            both, both.T, both[:n], both[n:], p_h, p_h[n:], coefficients,
            coefficients.view(-1), torch.ones(n + m, **options))
        return buffers

    def _gibbs_from_hidden(self, h, k: int, rng):
        """k sweeps h -> v -> h at β = 1; the last visible sample and its p(h = 1 | v)."""
        W, a, b = self._tensors
        for sweep in range(k):
            if sweep:
                h = bernoulli(p_h, rng)
            if self.visible == "gaussian":
                v = self._draw_visible(h, rng)
                p_h = torch.addmm(b, self._scaled(v), W).sigmoid_()
            else:   # written out: this is the whole cost of a small RBM's step
                v = bernoulli(torch.addmm(a, h, W.T).sigmoid_(), rng)
                p_h = torch.addmm(b, v, W).sigmoid_()
        return v, p_h

    def _update(self, x, s_pos, ph_pos, v, ph_neg) -> None:
        """Step along the log-likelihood gradient estimate (data minus negative samples)."""
        W, a, b = self._tensors
        n, m = x.shape[0], v.shape[0]
        s_neg = self._scaled(v)
        if self._fused_sgd:
            # plain SGD, fused: parameters updated in place, no gradient tensors
            lr = self._optimizer.param_groups[0]["lr"]
            if self.weight_decay:
                W.mul_(1.0 - lr * self.weight_decay)
            W.addmm_(s_pos.T, ph_pos, alpha=lr / n).addmm_(s_neg.T, ph_neg, alpha=-lr / m)
            a.addmv_(s_pos.T, self._ones_vector(n), alpha=lr / n)
            a.addmv_(s_neg.T, self._ones_vector(m), alpha=-lr / m)
            b.addmv_(ph_pos.T, self._ones_vector(n), alpha=lr / n)
            b.addmv_(ph_neg.T, self._ones_vector(m), alpha=-lr / m)
            return
        grads = {"visible_bias": s_neg.mean(0) - s_pos.mean(0),
                 "hidden_bias": ph_neg.mean(0) - ph_pos.mean(0)}
        if self.centering:
            # the gradient of the centred energy -(s - μ)ᵀa' - bᵀ(h - λ) - (s - μ)ᵀW(h - λ),
            # which is the same model with a = a' - Wλ, b = b' - Wᵀμ
            mu, lam = self._visible_offset(), self._hidden_offset
            grad_W = torch.mm((s_neg - mu).T, ph_neg - lam).mul_(1.0 / m).addmm_(
                (s_pos - mu).T, ph_pos - lam, alpha=-1.0 / n)
            W_before = W.detach().clone()
        else:
            grad_W = torch.mm(s_neg.T, ph_neg).mul_(1.0 / m).addmm_(s_pos.T, ph_pos,
                                                                    alpha=-1.0 / n)
        if self.weight_decay:
            grad_W.add_(W, alpha=self.weight_decay)
        grads["W"] = grad_W
        if self._gaussian and self.learn_sigma:
            # d(-F)/d log σ_i = [(v_i - a_i)² - 2 v_i (W p_h)_i] / σ_i², model minus data
            stat_pos = ((x - a) ** 2 - 2 * x * (ph_pos @ W.T)).mean(0)
            stat_neg = ((v - a) ** 2 - 2 * v * (ph_neg @ W.T)).mean(0)
            grads["log_sigma"] = (stat_neg - stat_pos) / self._sigma_sq()
        net = self.module_
        if self._manual_sgd:
            lr = self._optimizer.param_groups[0]["lr"]
            for name, grad in grads.items():
                factor = _SIGMA_LR_FACTOR if name == "log_sigma" else 1.0
                getattr(net, name).sub_(grad, alpha=lr * factor)
        else:
            for name, grad in grads.items():
                getattr(net, name).grad = grad
            self.optimizers_["model"].step()
        if self.centering:
            # the optimizer stepped the centred parameters; map the step back: a = a' - Wλ,
            # b = b' - Wᵀμ with the offsets of this step
            change = W.detach() - W_before
            a.sub_(change @ lam)
            b.sub_(change.T @ mu)
            lam.lerp_(ph_pos.mean(0), _OFFSET_RATE)

    def _visible_offset(self):
        """μ of the centred gradient: the data means of v (Bernoulli) or of v/σ² (Gaussian)."""
        base = self.module_.base_visible_bias
        if self._gaussian:
            return base / self._sigma_sq()
        return torch.sigmoid(base)

    def _ones_vector(self, n: int) -> torch.Tensor:
        ones = self._ones.get(n)
        if ones is None:
            ones = self._ones[n] = torch.ones(n, device=self.device_)
        return ones

    def _end_of_epoch(self, x, y) -> dict:
        logs = {}
        if self.n_monitor_rows:
            generator = self.generator_
            index = torch.randperm(len(x), generator=generator, device=generator.device)
            rows = x.index_select(0, index[:self.n_monitor_rows])
            with torch.no_grad():
                if self._gaussian:
                    free_energy = self._free_energy(rows)
                else:   # F(v) from u = b + Wᵀv, which the pseudo-likelihood reuses
                    hidden_input = self._hidden_input(rows)
                    free_energy = self._free_energy(rows, hidden_input)
                if self._last_negative is not None:
                    logs["loss"] = float(free_energy.mean()
                                         - self._free_energy(self._last_negative).mean())
                if not self._gaussian:
                    logs["pseudo_log_likelihood"] = float(self._pseudo_log_likelihood(
                        rows, generator, free_energy, hidden_input).mean())
                elif self.n_hidden <= _MONITOR_EXACT_UNITS:
                    logs["log_likelihood"] = float((-self._free_energy(rows.double())
                                                    - self._exact_log_partition()).mean())
        if self._swap_counts is not None:
            accepted, proposed = self._swap_counts
            rates = (accepted / proposed)[proposed > 0]   # pairs proposed this epoch
            if len(rates):
                logs["swap_rate"], logs["swap_rate_min"] = float(rates.mean()), float(rates.min())
            self._swap_counts = None
        return logs

    def _get_training_state(self) -> dict:
        state = {} if self.chains_ is None else {"chains": self.chains_}
        if getattr(self, "_hidden_offset", None) is not None:
            state["hidden_offset"] = self._hidden_offset
        return state

    def _set_training_state(self, tensors: dict) -> None:
        if "chains" in tensors:
            self.chains_ = tensors["chains"].to(self.device_)
        if "hidden_offset" in tensors:
            self._hidden_offset = tensors["hidden_offset"].to(self.device_).clone()

    def _sample(self, n: int, y, generator, burn_in=None, init=None):
        steps = self.burn_in if burn_in is None else burn_in
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"burn_in must be a non-negative integer, got {steps!r}")
        with torch.no_grad():
            if init is not None:
                v = init
            elif self._gaussian:
                net = self.module_
                v = gaussian(net.base_visible_bias.expand(n, -1), net.base_log_sigma.exp(),
                             generator)
            else:
                v = bernoulli(torch.full((n, self.n_features_), 0.5, device=self.device_),
                              generator)
            v, mean_v = block_gibbs(v, self._sample_hidden, self._sample_visible, int(steps),
                                    generator)
        # Bernoulli units on continuous data in [0, 1]: the mean p(v = 1 | h); otherwise the
        # sample itself (binary, or Gaussian values)
        if not self._gaussian and self.domain_ == "continuous" and mean_v is not None:
            return mean_v
        return v

    def _log_prob(self, x, y):
        if self.domain_ == "continuous" and not self._gaussian:
            raise ValueError("score_samples needs binary data: the RBM was fitted on "
                             "continuous values, for which a Bernoulli RBM has no likelihood")
        log_z = self._cached_log_partition()
        return -self._free_energy(x.double()) - log_z

    # --- conditionals (Gibbs sampling building blocks) -----------------------------------

    def _sigma_sq(self, dtype=torch.float32):
        """σ² per visible unit, computed in ``dtype`` (detached)."""
        return torch.exp(2 * self.module_.log_sigma.detach().to(dtype))

    def _scaled(self, v):
        """v/σ² for Gaussian units (what multiplies W in the energy), v itself otherwise."""
        if self.visible == "gaussian":
            return v / self._sigma_sq(v.dtype)
        return v

    def _params(self, dtype):
        net = self.module_
        return (t.detach().to(dtype) for t in (net.W, net.visible_bias, net.hidden_bias))

    def _hidden_input(self, v):
        """u = b + Wᵀ(v/σ²) (Gaussian) or b + Wᵀv, shape (n, n_hidden), in ``v``'s dtype."""
        W, _, b = self._params(v.dtype)
        return torch.addmm(b, self._scaled(v), W)

    def _hidden_probabilities(self, v):
        return torch.sigmoid(self._hidden_input(v))

    def _sample_hidden(self, v, generator):
        p = self._hidden_probabilities(v)
        return bernoulli(p, generator), p

    def _sample_visible(self, h, generator):
        """(sample, conditional mean) of the visible layer given hidden states ``h``."""
        W, a, _ = self._params(h.dtype)
        mean = torch.addmm(a, h, W.T)
        if self._gaussian:
            return gaussian(mean, self._sigma_sq(h.dtype).sqrt(), generator), mean
        mean.sigmoid_()
        return bernoulli(mean, generator), mean

    def _draw_visible(self, h, rng):
        return self._sample_visible(h, rng)[0]

    def _free_energy(self, v, hidden_input=None):
        """F(v) per row, in ``v``'s dtype (``hidden_input``: u = b + Wᵀ(scaled v), when
        already known)."""
        _, a, _ = self._params(v.dtype)
        if hidden_input is None:
            hidden_input = self._hidden_input(v)
        hidden = softplus(hidden_input).sum(1)
        if self._gaussian:
            return ((v - a) ** 2 / (2 * self._sigma_sq(v.dtype))).sum(1) - hidden
        return -(v @ a) - hidden

    def _pseudo_log_likelihood(self, v, generator, free_energy=None, hidden_input=None):
        """N · log σ(F(v with one random unit flipped) - F(v)) per row (as scikit-learn),
        Bernoulli units; ``free_energy`` and ``hidden_input`` are F(v) and u = b + Wᵀv
        when already known.

        Flipping unit i changes v_i by δ = 1 - 2 v_i, so the flipped rows' hidden input is
        u + δ W_i (a row of W: no second product with the whole of W) and
        F(v) - F(flipped) = δ a_i + Σ_j softplus(u_j + δ W_ij) - Σ_j softplus(u_j), where
        the last sum is -aᵀv - F(v).
        """
        W, a, _ = self._params(v.dtype)
        units = torch.randint(v.shape[1], (len(v),), generator=generator, device=v.device)
        if hidden_input is None:
            hidden_input = self._hidden_input(v)
        if free_energy is None:
            free_energy = self._free_energy(v, hidden_input)
        # gather / index_select: the same elements as v[arange, units], W[units] at a
        # fraction of the cost of advanced indexing
        delta = v.gather(1, units[:, None]).mul_(-2).add_(1)
        flipped_hidden = torch.addcmul(hidden_input, delta, W.index_select(0, units))
        gap = softplus(flipped_hidden).sum(1).addcmul_(delta.view(-1), a.index_select(0, units))
        return softplus(gap.add_(v @ a).add_(free_energy)).mul_(-v.shape[1])

    # --- tempered models: (1 - β) E_base + β E, shared by parallel tempering and AIS -------

    def _base(self, dtype):
        """Base-model visible bias and (Gaussian) σ², in ``dtype``."""
        net = self.module_
        a0 = net.base_visible_bias.to(dtype)
        return a0, (torch.exp(2 * net.base_log_sigma.to(dtype)) if self._gaussian else None)

    def _tempered_visible(self, h, beta, generator):
        """Visible sample given ``h`` at inverse temperature ``beta`` (number or column)."""
        W, a, _ = self._params(h.dtype)
        a0, base_var = self._base(h.dtype)
        mean = torch.addmm(a, h, W.T)
        if self._gaussian:
            # product of N(a + Wh, σ²/β) and N(a0, σ0²/(1 - β)): precision-weighted mean
            sigma_sq = self._sigma_sq(h.dtype)
            precision = beta / sigma_sq + (1 - beta) / base_var
            mean = (beta * mean / sigma_sq + (1 - beta) * a0 / base_var) / precision
            return gaussian(mean, precision.rsqrt(), generator)
        return bernoulli(mean.mul_(beta).add_((1 - beta) * a0).sigmoid_(), generator)

    def _visible_energy_gap(self, v):
        """Visible part of E - E_base per row: -(a - a0)ᵀv, or the difference of the two
        quadratic terms for Gaussian units."""
        _, a, _ = self._params(v.dtype)
        a0, base_var = self._base(v.dtype)
        if self._gaussian:
            return (((v - a) ** 2 / (2 * self._sigma_sq(v.dtype))).sum(-1)
                    - ((v - a0) ** 2 / (2 * base_var)).sum(-1))
        return -(v @ (a - a0))

    def _tempered_sweep(self, states, betas, generator):
        """One Gibbs sweep h -> v -> h of every replica at its own β.

        ``states[0]`` holds hidden states (R, M, n_hidden); returns [h, v, u] of shapes
        (R, M, ·), with u = b + Wᵀ(scaled v) the untempered hidden input (so that
        p(h = 1 | v) at β is σ(β u)).
        """
        n_replicas, n_chains, n_hidden = states[0].shape
        beta_rows = getattr(self, "_beta_rows", None)
        if beta_rows is None or beta_rows.shape[0] != n_replicas * n_chains:
            beta_rows = betas.repeat_interleave(n_chains)[:, None]
        h = states[0].reshape(n_replicas * n_chains, n_hidden)
        v = self._tempered_visible(h, beta_rows, generator)
        u = self._hidden_input(v)
        h = bernoulli(torch.sigmoid(u * beta_rows), generator)
        return [t.reshape(n_replicas, n_chains, -1) for t in (h, v, u)]

    def _tempered_energy(self, states):
        """D = E - E_base of each replica's joint state (v, h), shape (R, M)."""
        h, v, u = states
        return self._visible_energy_gap(v) - (h * u).sum(-1)

    def _tempered_negative_phase(self, step: int, rng):
        """k rounds of (sweep at every temperature, exchanges); the β = 1 replica's visible
        samples and their p(h = 1 | v)."""
        (h, v, u), accepted, proposed, _ = parallel_tempering(
            [self.chains_], self._betas, self._tempered_sweep, self._tempered_energy, self.k,
            rng, offset=(step * self.k) % 2)
        self.chains_ = h
        if self._swap_counts is None:
            self._swap_counts = (accepted, proposed)
        else:
            self._swap_counts = (self._swap_counts[0] + accepted,
                                 self._swap_counts[1] + proposed)
        return v[0], torch.sigmoid(u[0])

    # --- public methods beyond the contract ------------------------------------------------

    def sample(self, n_samples: int, y=None, seed=None, *, burn_in: int | None = None,
               init=None) -> np.ndarray:
        """Block Gibbs samples, shape ``(n_samples, *event_shape_)`` in the fitted domain.

        Parameters
        ----------
        burn_in : int, optional
            Gibbs sweeps (default: the ``burn_in`` setting).
        init : array-like, shape (n_samples, *event_shape_), optional
            Start the chains from these configurations instead of noise (uniform bits, or
            the data's mean and spread for Gaussian units).
        """
        return super().sample(n_samples, y, seed, burn_in=burn_in,
                              init=self._check_init(init, n_samples))

    def free_energy(self, X) -> np.ndarray:
        """F(v) for each row of ``X`` (fitted domain), shape ``(n_samples,)``, float64."""
        with torch.no_grad():
            return self._free_energy(self._check_X(X).double()).cpu().numpy()

    def transform(self, X) -> np.ndarray:
        """Hidden probabilities p(h = 1 | v), shape ``(n_samples, n_hidden)``, float32."""
        with torch.no_grad():
            return self._hidden_probabilities(self._check_X(X)).cpu().numpy()

    def log_partition(self, method: str = "auto", *, n_chains: int = 20, n_betas: int = 5000,
                      n_runs: int = 10, seed=0):
        """log Z of the fitted RBM.

        Parameters
        ----------
        method : {"auto", "exact", "ais"}
            ``"exact"`` enumerates the smaller layer (the hidden layer for Gaussian units),
            which must have at most 20 units; ``"ais"`` estimates log Z by annealed
            importance sampling from the base-rate model; ``"auto"`` is exact when possible.
        n_chains, n_betas, n_runs : int
            AIS: chains per run, intermediate distributions, and independent runs (the
            error is the spread of the runs' estimates over sqrt(n_runs)).
        seed : seed-like
            AIS randomness. With an integer seed the estimate is computed once per set of
            parameter values (and reused, e.g. by ``score_samples``).

        Returns
        -------
        float or Estimate
            The exact value (float64) for ``"exact"``; an ``Estimate(mean, stderr)`` for
            ``"ais"``; ``"auto"`` returns what the method it picks returns.
        """
        self._check_fitted()
        if method not in LOG_PARTITION_METHODS:
            raise ValueError(f"method must be one of {', '.join(LOG_PARTITION_METHODS)}, got "
                             f"{method!r}")
        if method == "exact" or (method == "auto" and self._exact_is_possible()):
            with torch.no_grad():
                return float(self._exact_log_partition())
        n_chains = _check_int("n_chains", n_chains, 1)
        n_betas = _check_int("n_betas", n_betas, 10)
        n_runs = _check_int("n_runs", n_runs, 2)
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            # a fixed seed makes the estimate a function of the parameters: computed once
            return self._memoised(("ais", n_chains, n_betas, n_runs, int(seed)),
                                  lambda: self._ais(n_chains, n_betas, n_runs, seed).log_z)
        return self._ais(n_chains, n_betas, n_runs, seed).log_z

    def annealed_importance_sampling(self, *, n_chains: int = 20, n_betas: int = 5000,
                                     n_runs: int = 10, seed=0) -> AISResult:
        """The full AIS result (estimate, per-run estimates and log-weights); see
        :meth:`log_partition`."""
        self._check_fitted()
        return self._ais(_check_int("n_chains", n_chains, 1), _check_int("n_betas", n_betas, 10),
                         _check_int("n_runs", n_runs, 2), seed)

