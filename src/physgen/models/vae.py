"""Variational autoencoder (Kingma & Welling 2014) with an optional conditional input.

Model: z ~ p(z) in ``latent_dim`` dimensions, x | z ~ p_θ(x | z) from the decoder network;
the encoder gives a diagonal Gaussian q_φ(z | x) = N(μ(x), diag σ²(x)), sampled with the
reparameterisation trick z = μ + σ ε, ε ~ N(0, I). Training maximises the (β-weighted)
evidence lower bound per sample

    ELBO(x) = E_q[log p(x | z)] - β KL(q(z | x) ‖ p(z)),

with the reconstruction term from one draw of z, and β raised linearly from 0 over the
first ``kl_warmup`` epochs.

Prior
-----
- ``"mixture"`` (default): a learned mixture of ``n_components`` diagonal Gaussians; the KL
  term is the one-draw estimate log q(z | x) - log p(z). A fixed N(0, I) prior leaves
  "holes" (prior mass that no encoded data occupies), which decode to points between the
  modes of a multimodal distribution: on the 8-Gaussian ring (σ = 0.02) the normal prior put
  only 27-38 % of the samples within 3σ of a mode, the mixture prior 98 %; for the two
  ordered states of an Ising magnet the same holds. A learned prior follows the encoded data
  (Tomczak & Welling 2018).
- ``"normal"``: N(0, I), the KL term in closed form.

Decoders
--------
- ``"bernoulli"`` (the default for ±1 spins and 0/1 bits): the decoder gives one logit per
  site. Spins are mapped to bits inside (s = +1 <-> bit 1); ``sample`` draws every bit from
  its decoder probability given z (independently, or site by site with ``context > 0``)
  and maps it back to ±1 spins, so the samples are exact draws from the model's joint
  distribution, not thresholded means.
- ``"gaussian"`` (the default for continuous data): the decoder gives the mean; the standard
  deviation is one value per feature (independent of z), set to its maximum-likelihood
  value given the reconstructions (the "calibrated decoder" of Rybkin et al. 2021): the
  root-mean-square residual of each mini-batch during training, and of the last epoch for
  sampling and scoring. A learned scale starting at the data's spread instead lets the model
  settle in the collapsed optimum that ignores z before the encoder learns anything.
  Continuous data are standardised per feature inside; densities are reported in the
  original units.

Local autoregressive context (``context=R``, Bernoulli decoder only): a factorised decoder
p(x | z) = Π_i p(x_i | z) can only produce correlations between sites through z, so
nearest-neighbour correlations of a paramagnet, which carry most of its entropy, are lost
unless z encodes nearly every spin. With ``context=R`` the decoder is instead
p(x | z) = Π_i p(x_i | z, x_j for j in the stencil of i drawn before i), in raster order,
where the stencil is the (2R + 1)² - 1 sites within R rows and columns on the torus (see
:func:`causal_stencil`: on the last rows and columns it reaches across the periodic
boundary to sites already drawn, so that the boundary bonds are modelled; without them the
generated energy of an L = 16 Ising paramagnet came out 2-3 % too high) (the "variational
lossy autoencoder" of Chen et al. 2017, with a deliberately local autoregression so that z
still carries the global state, e.g. the sign of the magnetisation). Per site, a small MLP
maps (decoder features of z at i, the ±1 values of the stencil, 0 where not yet generated) to
the logit. Training and ``score_samples`` evaluate all sites at once; ``sample`` generates
site by site (n_features sequential steps).

Likelihood: ``score_samples`` returns the importance-weighted estimate (Burda et al. 2016)
log p(x) ≈ log (1/K) Σ_k p(x | z_k) p(z_k) / q(z_k | x), z_k ~ q(z | x), with K =
``n_importance``; it is a stochastic lower bound that tightens as K grows (K = 1 is the ELBO
with β = 1).

Conditional option: ``conditional=True`` feeds a label y to both encoder and decoder
(Sohn et al. 2015): integer labels become one-hot classes, real labels (e.g. temperature)
are standardised; ``fit(X, y)`` and ``sample(n, y=...)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits

from physgen.models.base import GenerativeModel
from physgen.models.nets import Standardize, conv_decoder, conv_encoder, mlp, reinitialize

DECODERS = ("auto", "bernoulli", "gaussian")
ARCHITECTURES = ("mlp", "conv")
PRIORS = ("normal", "mixture")
_LOG_2PI = math.log(2 * math.pi)
_SCORE_ROWS = 2 ** 15   # (importance sample, data row) pairs per chunk of score_samples
_CONTEXT_CHANNELS = 8   # decoder features per site feeding the local autoregression
_CONTEXT_HIDDEN = 64    # width of its per-site MLP
_MIN_CALIBRATION_ROWS = 8   # smallest batch that calibrates the Gaussian decoder's scale


def causal_stencil(event_shape, radius: int):
    """Neighbours within ``radius`` of each site on the torus, and which of them precede it.

    A 2-D event shape (H, W) uses every offset (dr, dc) with |dr|, |dc| <= radius except
    (0, 0), wrapped periodically; any other shape is flattened and uses the offsets
    ±1 .. ±radius along it, also wrapped. A neighbour is *available* to a site when it comes
    earlier in raster order: inside the lattice these are the rows above and the sites to the
    left, but on the last rows and columns the wrapped offsets below and to the right reach
    sites of the first rows and columns, already drawn, so that the bonds across the
    periodic boundary are modelled too.

    Returns
    -------
    index : np.ndarray of int64, shape (n_features, k)
        Flat index of each stencil neighbour of each site.
    available : np.ndarray of bool, shape (n_features, k)
        Whether that neighbour precedes the site (is generated before it).
    """
    n = math.prod(event_shape)
    site = np.arange(n)
    if len(event_shape) == 2:
        height, width = event_shape
        row, col = np.divmod(site, width)
        offsets = [(dr, dc) for dr in range(-radius, radius + 1)
                   for dc in range(-radius, radius + 1) if dr or dc]
        index = np.stack([((row + dr) % height) * width + (col + dc) % width
                          for dr, dc in offsets], 1)
    else:
        index = np.stack([(site + d) % n for d in range(-radius, radius + 1) if d], 1)
    return index.astype(np.int64), index < site[:, None]


class _LocalContext(nn.Module):
    """logit_i = MLP(decoder features at i, ±1 values of i's causal stencil)."""

    def __init__(self, event_shape, radius: int, channels: int):
        super().__init__()
        index, available = causal_stencil(event_shape, radius)
        self.register_buffer("index", torch.as_tensor(index))
        self.register_buffer("available", torch.as_tensor(available, dtype=torch.float32))
        self.net = mlp(channels + index.shape[1], 1, hidden=(_CONTEXT_HIDDEN,))

    def forward(self, features, spins):
        """All logits at once: features (..., N, C), spins (..., N) ±1 -> (..., N)."""
        neighbours = spins[..., self.index] * self.available
        return self.net(torch.cat([features, neighbours], -1)).squeeze(-1)

    def site_logit(self, features, spins, site: int):
        """Logit of one site: features (n, C), spins (n, N) -> (n,)."""
        neighbours = spins[:, self.index[site]] * self.available[site]
        return self.net(torch.cat([features, neighbours], -1)).squeeze(-1)


class _NormalPrior(nn.Module):
    """p(z) = N(0, I)."""

    def __init__(self, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim

    def log_prob(self, z):
        """log p(z), shape ``z.shape[:-1]``."""
        return (-0.5 * z.square() - 0.5 * _LOG_2PI).sum(-1)

    def sample(self, n: int, generator, device):
        return torch.randn((n, self.latent_dim), generator=generator, device=device)


class _MixturePrior(nn.Module):
    """p(z) = Σ_k π_k N(μ_k, diag σ_k²), every part learned (π = softmax of ``logits``)."""

    def __init__(self, latent_dim: int, n_components: int, generator):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(n_components))
        self.means = nn.Parameter(torch.randn((n_components, latent_dim), generator=generator))
        self.log_std = nn.Parameter(torch.zeros(n_components, latent_dim))

    def log_prob(self, z):
        diff = (z.unsqueeze(-2) - self.means) * torch.exp(-self.log_std)      # (..., K, d)
        per_component = (-0.5 * diff.square() - self.log_std - 0.5 * _LOG_2PI).sum(-1)
        return torch.logsumexp(per_component + torch.log_softmax(self.logits, 0), -1)

    def sample(self, n: int, generator, device):
        component = torch.multinomial(torch.softmax(self.logits, 0), n, replacement=True,
                                      generator=generator)
        eps = torch.randn((n, self.means.shape[1]), generator=generator, device=device)
        return self.means[component] + torch.exp(self.log_std[component]) * eps


class _VAENet(nn.Module):
    """Encoder (x, y) -> (μ, log σ²) of q(z | x), decoder (z, y) -> logits or means.

    ``standardize`` standardises continuous data (the identity otherwise);
    ``label_standardize`` standardises real labels. ``log_scale`` (Gaussian decoder
    only) is the log standard deviation of p(x | z) per feature, in standardised units,
    calibrated from the residuals of the last training epoch.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, prior: nn.Module,
                 context: nn.Module | None, n_features: int, gaussian: bool,
                 label_features: int, conv_shape=None):
        super().__init__()
        self.encoder, self.decoder, self.prior = encoder, decoder, prior
        self.context = context
        self.n_features = n_features
        self.conv_shape = conv_shape
        self.standardize = Standardize(n_features)
        self.label_standardize = Standardize(max(label_features, 1))
        if gaussian:
            self.register_buffer("log_scale", torch.zeros(n_features))
        else:
            self.log_scale = None

    def encode(self, x, label):
        if self.conv_shape is None:
            h = self.encoder(x if label is None else torch.cat([x, label], 1))
        else:
            h = self.encoder["body"](x.reshape(len(x), 1, *self.conv_shape))
            h = self.encoder["head"](h if label is None else torch.cat([h, label], 1))
        mean, log_var = h.chunk(2, dim=1)
        return mean, log_var

    def decode(self, z, label):
        """Decoder output per site: (n, N) logits or means, or (n, N, C) features for the
        local context."""
        out = self.decoder(z if label is None else torch.cat([z, label], 1))
        if self.context is None:
            return out.reshape(len(z), -1)
        if self.conv_shape is not None:          # (n, C, L, L) -> (n, N, C)
            return out.flatten(2).transpose(1, 2)
        return out.reshape(len(z), self.n_features, -1)


class VAE(GenerativeModel):
    """Variational autoencoder with Gaussian encoder and Bernoulli or Gaussian decoder.

    Parameters
    ----------
    latent_dim : int
        Dimension of z.
    hidden : tuple of int
        Hidden widths of the MLP encoder (the decoder mirrors them); for
        ``architecture="conv"`` the width of the layer between conv features and (μ, log σ²).
    architecture : {"mlp", "conv"}
        ``"conv"`` uses the circular-padding conv encoder/decoder of
        :mod:`physgen.models.nets` and needs square ``(L, L)`` samples with L divisible by
        ``2 ** len(channels)``.
    channels : tuple of int
        Channels per level of the conv encoder (reversed for the decoder).
    decoder : {"auto", "bernoulli", "gaussian"}
        ``"auto"``: Bernoulli for spins/bits, Gaussian for continuous data. A Bernoulli
        decoder needs data in {0, 1} or ±1; a Gaussian one accepts any data (spins then
        come out thresholded at 0).
    context : int
        Radius of the local autoregressive context of the Bernoulli decoder (0: a factorised
        decoder; see the module docstring). 1 or 2 lets the decoder reproduce the
        nearest-neighbour correlations of lattice spins.
    beta : float
        Weight of the KL term (β-VAE; 1 is the ELBO).
    prior : {"mixture", "normal"}
        p(z): a learned mixture of ``n_components`` diagonal Gaussians, or the standard
        normal (see the module docstring for why the mixture is the default).
    n_components : int
        Components of the mixture prior.
    kl_warmup : int
        Epochs over which the KL weight rises linearly from 0 to ``beta`` (Bowman et al.
        2016; 0: none), so that the encoder learns to carry information before the KL term
        can pull q(z | x) onto the prior (the collapsed optimum that ignores z).
    conditional : bool
        Condition encoder and decoder on labels ``y`` (classes or real values).
    n_importance : int
        K, the importance samples per row of ``score_samples``.
    min_scale : float
        Floor on the Gaussian decoder's standard deviation (standardised units), which
        keeps the likelihood bounded.
    epochs, batch_size, learning_rate, optimizer, lr_schedule, seed, device, on_nonfinite
        Shared settings (see :mod:`physgen.models.base`).

    Attributes
    ----------
    module_ : nn.Module
        ``encoder``, ``decoder`` (and the buffer ``log_scale`` for a Gaussian decoder).
    decoder_ : {"bernoulli", "gaussian"}
        The resolved decoder.
    label_kind_ : {"classes", "real"} or None
        How labels are read (conditional models).
    n_classes_ : int or None
        Number of classes (integer labels 0 .. n_classes_ - 1).
    label_features_ : int
        Width of the encoded label (one-hot width or number of real label columns; 0 when
        not conditional).
    history_ : list of dict
        Per epoch, averaged over the mini-batches (per sample, nats): ``elbo``,
        ``reconstruction`` (E_q[log p(x | z)], one draw of z), ``kl`` (KL(q(z | x) ‖ p(z));
        closed form for the normal prior, the one-draw estimate for the mixture),
        ``loss`` (the minimised -(reconstruction - β kl)), plus ``lr`` and ``time``. For
        continuous data ``elbo`` and ``reconstruction`` are in the original units of x.

    Examples
    --------
    >>> vae = VAE(latent_dim=8, epochs=50, seed=0).fit(spins)          # doctest: +SKIP
    >>> generated = vae.sample(1000, seed=1)                            # doctest: +SKIP
    >>> log_p = vae.score_samples(spins[:100], n_importance=500)        # doctest: +SKIP
    >>> z = vae.encode(spins[:10]); means = vae.decode(z)               # doctest: +SKIP
    """

    family = "vae"
    discrete_as = "bits"
    _fitted_json = ("decoder_", "label_kind_", "n_classes_", "label_features_")

    def __init__(self, latent_dim=8, *, hidden=(256, 256), architecture="mlp",
                 channels=(32, 64), decoder="auto", context=0, beta=1.0, prior="mixture",
                 n_components=16, kl_warmup=10, conditional=False, n_importance=100,
                 min_scale=1e-3, epochs=50, batch_size=128, learning_rate=2e-3,
                 optimizer="adam", lr_schedule="cosine", seed=None, device="cpu",
                 on_nonfinite="raise"):
        self._store_settings(locals())

    # --- settings and labels --------------------------------------------------------------

    def _check_settings(self) -> None:
        super()._check_settings()
        if isinstance(self.kl_warmup, bool) \
                or not isinstance(self.kl_warmup, (int, np.integer)) or self.kl_warmup < 0:
            raise ValueError(f"kl_warmup must be an integer >= 0 (epochs), got "
                             f"{self.kl_warmup!r}")
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {', '.join(PRIORS)}, got {self.prior!r}")
        if isinstance(self.context, bool) or not isinstance(self.context, (int, np.integer)) \
                or self.context < 0:
            raise ValueError(f"context must be an integer >= 0 (a radius), got "
                             f"{self.context!r}")
        for name in ("latent_dim", "n_importance", "n_components"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("hidden", "channels"):
            value = getattr(self, name)
            if not isinstance(value, (tuple, list)) or not all(
                    isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1
                    for v in value):
                raise ValueError(f"{name} must be a tuple of positive integers, got {value!r}")
        if self.architecture == "conv" and (not self.hidden or not self.channels):
            raise ValueError("architecture='conv' needs at least one hidden width and one "
                             "channel count")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got "
                             f"{self.architecture!r}")
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, got "
                             f"{self.decoder!r}")
        if not isinstance(self.beta, (int, float)) or isinstance(self.beta, bool) \
                or not self.beta >= 0:
            raise ValueError(f"beta must be a number >= 0, got {self.beta!r}")
        if not isinstance(self.min_scale, (int, float)) or not self.min_scale > 0:
            raise ValueError(f"min_scale must be a positive number, got {self.min_scale!r}")
        if not isinstance(self.conditional, bool):
            raise ValueError(f"conditional must be True or False, got {self.conditional!r}")

    def _encode_y(self, y, n_samples: int, fitting: bool):
        if fitting:
            self.label_kind_, self.n_classes_, self.label_features_ = None, None, 0
            if self.conditional and y is None:
                raise ValueError("VAE(conditional=True) needs labels: call fit(X, y)")
        labels = super()._encode_y(y, n_samples, fitting)
        if labels is None:
            return None
        if fitting:
            if labels.dtype == torch.int64:
                if int(labels.min()) < 0:
                    raise ValueError(f"class labels must be integers >= 0, got "
                                     f"{int(labels.min())}")
                self.label_kind_, self.n_classes_ = "classes", int(labels.max()) + 1
                self.label_features_ = self.n_classes_
            else:
                self.label_kind_, self.label_features_ = "real", int(labels.shape[1])
            return labels
        if self.label_kind_ == "classes":
            if labels.dtype != torch.int64:
                raise ValueError(f"this VAE was fitted on integer class labels 0 .. "
                                 f"{self.n_classes_ - 1}; got non-integer y")
            if int(labels.min()) < 0 or int(labels.max()) >= self.n_classes_:
                raise ValueError(f"class labels must lie in 0 .. {self.n_classes_ - 1}, got "
                                 f"values from {int(labels.min())} to {int(labels.max())}")
            return labels
        labels = labels.to(torch.float32).reshape(n_samples, -1)
        if labels.shape[1] != self.label_features_:
            raise ValueError(f"y must have {self.label_features_} column(s) per sample (as "
                             f"at fit), got {labels.shape[1]}")
        return labels

    def _label_features(self, y):
        """Labels -> the network's label input: one-hot classes or standardised reals."""
        if y is None:
            return None
        if self.label_kind_ == "classes":
            return nn.functional.one_hot(y, self.n_classes_).to(torch.float32)
        net = self.module_
        return net.label_standardize(y)

    # --- hooks ----------------------------------------------------------------------------

    def _resolved_decoder(self) -> str:
        if self.decoder != "auto":
            return self.decoder
        return "gaussian" if self.domain_ == "continuous" else "bernoulli"

    def _build(self, n_features: int, generator) -> None:
        self.decoder_ = self._resolved_decoder()
        n_labels = self.label_features_ or 0
        hidden, latent = tuple(self.hidden), self.latent_dim
        if self.context and self.decoder_ != "bernoulli":
            raise ValueError(f"context={self.context} needs the Bernoulli decoder (spins or "
                             f"bits); this VAE has a {self.decoder_} decoder")
        per_site = _CONTEXT_CHANNELS if self.context else 1
        conv_shape = None
        if self.architecture == "conv":
            shape = self.event_shape_
            if len(shape) != 2 or shape[0] != shape[1]:
                raise ValueError(f"architecture='conv' needs square (L, L) samples, got "
                                 f"samples of shape {shape}")
            conv_shape, L = shape, shape[0]
            channels = tuple(self.channels)
            encoder = nn.ModuleDict({
                "body": nn.Sequential(conv_encoder(L, hidden[0], channels=channels),
                                      nn.LeakyReLU(0.2)),
                "head": nn.Linear(hidden[0] + n_labels, 2 * latent)})
            decoder = conv_decoder(latent + n_labels, L, out_channels=per_site,
                                   channels=channels[::-1])
        else:
            encoder = mlp(n_features + n_labels, 2 * latent, hidden)
            decoder = mlp(latent + n_labels, n_features * per_site, hidden[::-1])
        # torch's default init draws from the global RNG: redraw from the seeded generator
        reinitialize(encoder, generator)
        reinitialize(decoder, generator)
        prior = (_NormalPrior(latent) if self.prior == "normal" else
                 _MixturePrior(latent, self.n_components, generator))
        context = (_LocalContext(self.event_shape_, self.context, per_site)
                   if self.context else None)
        if context is not None:
            reinitialize(context, generator)
        self.module_ = _VAENet(encoder, decoder, prior, context, n_features,
                               self.decoder_ == "gaussian",
                               n_labels if self.label_kind_ == "real" else 0, conv_shape)

    def _start_training(self, x, y) -> None:
        if self.decoder_ == "bernoulli" and bool(((x != 0) & (x != 1)).any()):
            raise ValueError("decoder='bernoulli' needs spins (±1) or bits (0/1); the data "
                             "holds other values (use decoder='gaussian')")
        self._warmup_steps = self.kl_warmup * -(-len(x) // self.batch_size)
        self._residuals = [0.0, 0]   # Σ squared residuals per feature, rows: this epoch
        net = self.module_
        with torch.no_grad():
            if self.decoder_ == "gaussian":
                # standardise per feature, so that defaults work at any scale of the data
                net.standardize.fit(x)
            if self.label_kind_ == "real":
                net.label_standardize.fit(y)

    def _terms(self, x, y, generator):
        """Per-row reconstruction log-likelihood and KL, in standardised units.

        Returns
        -------
        reconstruction, kl : Tensor, shape (n,)
        """
        label = self._label_features(y)
        inputs = self._standardise(x)
        mean, log_var = self.module_.encode(inputs, label)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        z = mean + torch.exp(0.5 * log_var) * eps
        out = self.module_.decode(z, label)
        scale = None
        if self.decoder_ == "gaussian":
            # the maximum-likelihood scale of this batch (its gradient term vanishes at the
            # optimum, so the loss is -D/2 log(mean squared residual) + const per row)
            squared = (inputs - out).square()
            # a batch of a few rows (the tail of an epoch) would estimate its own residuals
            # as the scale: keep the last epoch's calibration there
            scale = (squared.mean(0).sqrt().clamp_min(self.min_scale)
                     if len(x) >= _MIN_CALIBRATION_ROWS else self._decoder_scale())
            if self.module_.training:
                self._residuals[0] = self._residuals[0] + squared.detach().sum(0)
                self._residuals[1] += len(x)
        reconstruction = self._decoder_log_prob(inputs, out, scale)
        if self.prior == "normal":
            kl = 0.5 * (mean.square() + log_var.exp() - 1.0 - log_var).sum(1)
        else:   # no closed form: the one-sample estimate log q(z | x) - log p(z)
            log_q = (-0.5 * eps.square() - 0.5 * log_var - 0.5 * _LOG_2PI).sum(1)
            kl = log_q - self.module_.prior.log_prob(z)
        return reconstruction, kl

    def _train_step(self, x, y, step: int) -> dict:
        optimizer = self.optimizers_["model"]
        optimizer.zero_grad(set_to_none=True)
        reconstruction, kl = self._terms(x, y, self.generator_)
        beta = self.beta * min(1.0, (step + 1) / self._warmup_steps) if self._warmup_steps \
            else self.beta
        loss = (beta * kl - reconstruction).mean()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            # report densities of the original (not standardised) data
            reconstruction = reconstruction.mean() - self._log_jacobian()
            kl = kl.mean()
        return {"elbo": reconstruction - kl, "reconstruction": reconstruction, "kl": kl,
                "loss": loss.detach()}

    def _end_of_epoch(self, x, y) -> dict:
        if self.decoder_ == "gaussian" and self._residuals[1]:
            with torch.no_grad():
                scale = (self._residuals[0] / self._residuals[1]).sqrt()
                self.module_.log_scale.copy_(scale.clamp_min(self.min_scale).log())
            self._residuals = [0.0, 0]
        return {}

    def _sample(self, n: int, y, generator, **options):
        with torch.no_grad():
            z = self.module_.prior.sample(n, generator, self.device_)
            return self._draw(self.module_.decode(z, self._label_features(y)), generator)

    def _draw(self, out, generator):
        """A draw from p(x | z) given the decoder output, (n, N) internal values."""
        if self.decoder_ == "gaussian":
            noise = torch.randn(out.shape, generator=generator, device=out.device)
            return self._unstandardise(out + self._decoder_scale() * noise)
        uniform = torch.rand(out.shape[:2], generator=generator, device=out.device)
        if not self.context:
            # independent bits from the decoder probabilities
            return (uniform < torch.sigmoid(out)).to(torch.float32)
        # site by site in raster order, each from its stencil of already drawn sites
        spins = torch.zeros(out.shape[:2], device=out.device)
        for site in range(out.shape[1]):
            p = torch.sigmoid(self.module_.context.site_logit(out[:, site], spins, site))
            spins[:, site] = torch.where(uniform[:, site] < p, 1.0, -1.0)
        return (spins + 1) / 2

    def _log_prob(self, x, y, n_importance=None, seed=0):
        from physgen.random import torch_generator

        k = self.n_importance if n_importance is None else n_importance
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"n_importance must be a positive integer, got {k!r}")
        generator = torch_generator(seed, device=self.device_)
        rows = max(1, _SCORE_ROWS // k)
        with torch.no_grad():
            parts = [self._importance_weighted(x[i:i + rows],
                                               None if y is None else y[i:i + rows],
                                               int(k), generator)
                     for i in range(0, len(x), rows)]
        return torch.cat(parts) - self._log_jacobian()

    # --- pieces ---------------------------------------------------------------------------

    def _standardise(self, x):
        net = self.module_
        return net.standardize(x) if self.decoder_ == "gaussian" else x

    def _unstandardise(self, x):
        net = self.module_
        return net.standardize.inverse(x)

    def _log_jacobian(self):
        """Σ log scale: density of standardised data minus this = density of the data."""
        if self.decoder_ != "gaussian":
            return 0.0
        return self.module_.standardize.scale.log().sum()

    def _decoder_scale(self):
        return self.module_.log_scale.exp().clamp_min(self.min_scale)

    def _decoder_log_prob(self, x, out, scale=None):
        """log p(x | z) per row; ``x`` (n, D) or broadcastable to ``out`` (..., n, D);
        ``scale`` overrides the Gaussian decoder's calibrated standard deviation."""
        if self.decoder_ == "bernoulli":
            target = x.expand(out.shape[:-1] if self.context else out.shape)
            logits = out if not self.context else self.module_.context(out, 2 * target - 1)
            return -binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)
        if scale is None:
            scale = self._decoder_scale()
        return (-0.5 * ((x - out) / scale).square() - scale.log() - 0.5 * _LOG_2PI).sum(-1)

    def _importance_weighted(self, x, y, k: int, generator):
        """log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x) per row (standardised units)."""
        label = self._label_features(y)
        inputs = self._standardise(x)
        mean, log_var = self.module_.encode(inputs, label)
        std = torch.exp(0.5 * log_var)
        eps = torch.randn((k, *mean.shape), generator=generator, device=mean.device)
        z = mean + std * eps                                              # (K, n, latent)
        flat_label = None if label is None else label.expand(k, *label.shape).reshape(
            k * len(x), -1)
        out = self.module_.decode(z.reshape(k * len(x), -1), flat_label)
        out = out.reshape(k, len(x), *out.shape[1:])
        log_p_x = self._decoder_log_prob(inputs, out)                      # (K, n)
        log_p_z = self.module_.prior.log_prob(z)
        log_q_z = (-0.5 * eps.square() - 0.5 * log_var - 0.5 * _LOG_2PI).sum(-1)
        return torch.logsumexp(log_p_x + log_p_z - log_q_z, 0) - math.log(k)

    # --- public methods beyond the contract -----------------------------------------------

    def score_samples(self, X, y=None, *, n_importance: int | None = None,
                      seed=0) -> np.ndarray:
        """Importance-weighted estimate of log p(x) per sample (nats), shape (n_samples,).

        Parameters
        ----------
        X : array-like, shape (n_samples, *event_shape_)
        y : array-like, optional
            Labels (conditional models): log p(x | y).
        n_importance : int, optional
            Importance samples K per row (default: the ``n_importance`` setting). The
            estimate is a lower bound in expectation, tighter for larger K.
        seed : seed-like
            Seed of the importance samples (fixed by default: same X, same scores).
        """
        x = self._check_X(X)
        labels = self._encode_y(y, len(x), fitting=False)
        return self._log_prob(x, labels, n_importance, seed).cpu().double().numpy()

    def encode(self, X, y=None, *, return_std: bool = False):
        """Mean (and standard deviation) of q(z | x), shape (n_samples, latent_dim).

        Parameters
        ----------
        X : array-like, shape (n_samples, *event_shape_)
        y : array-like, optional
            Labels (conditional models).
        return_std : bool
            Also return the posterior standard deviations.
        """
        x = self._check_X(X)
        label = self._label_features(self._encode_y(y, len(x), fitting=False))
        with torch.no_grad():
            mean, log_var = self.module_.encode(self._standardise(x), label)
        mean = mean.cpu().numpy()
        return (mean, torch.exp(0.5 * log_var).cpu().numpy()) if return_std else mean

    def decode(self, Z, y=None, *, draw: bool = False, seed=None) -> np.ndarray:
        """Map latent points to data space, shape (n, *event_shape_).

        Parameters
        ----------
        Z : array-like, shape (n, latent_dim)
        y : array-like, optional
            Labels (conditional models).
        draw : bool
            False: the decoder mean E[x | z] as float32 (for spins 2 p - 1 in [-1, 1] with p
            the probability of +1, for bits p, for continuous data the Gaussian mean); not
            available with ``context > 0``, whose mean has no closed form. True: one draw
            from p(x | z) per row, in the fitted domain and dtype (as :meth:`sample`).
        seed : seed-like
            Seed of the draws (``draw=True``).
        """
        from physgen.random import torch_generator

        self._check_fitted()
        z = np.asarray(Z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"Z must have shape (n, latent_dim={self.latent_dim}), got "
                             f"{z.shape}")
        if not np.isfinite(z).all():
            raise ValueError("Z contains NaN or infinite values")
        if self.context and not draw:
            raise ValueError(f"with context={self.context} the decoder mean has no closed "
                             "form; pass draw=True for configurations")
        label = self._label_features(self._encode_y(y, len(z), fitting=False))
        with torch.no_grad():
            out = self.module_.decode(torch.as_tensor(z, device=self.device_), label)
            if draw:
                return self._from_internal(
                    self._draw(out, torch_generator(seed, device=self.device_)))
            if self.decoder_ == "bernoulli":
                mean = torch.sigmoid(out)
                if self.domain_ == "spins":
                    mean = 2 * mean - 1
            else:
                mean = self._unstandardise(out)
        return mean.cpu().numpy().reshape((len(z), *self.event_shape_))
