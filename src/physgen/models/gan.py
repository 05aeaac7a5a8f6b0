"""Generative adversarial networks: minimax, non-saturating, Wasserstein-GP, conditional.

A generator G maps latent noise z (``"normal"``: N(0, I); ``"uniform"``: U[-1, 1]) to a
sample; a discriminator D maps a sample to one logit l (D(x) = σ(l)). Losses
(Goodfellow et al. 2014; Gulrajani et al. 2017), with means over the mini-batch:

- discriminator, ``"minimax"`` and ``"non-saturating"``: the summed binary cross-entropy
  ``d_loss = -E_r log D(x) - E_g log(1 - D(G(z)))`` (real target 1 - ``label_smoothing``
  with one-sided smoothing, Salimans et al. 2016);
- generator, ``"minimax"``: ``E log(1 - D(G(z)))`` (the original game, which saturates when D
  is confident); ``"non-saturating"`` (default): ``-E log D(G(z))``;
- ``"wasserstein-gp"``: a critic f without sigmoid, ``d_loss = E f(G(z)) - E f(x) +
  λ E (‖∇f(x̂)‖ - 1)²`` on random interpolates x̂, ``g_loss = -E f(G(z))``; defaults λ = 10,
  ``n_critic`` = 5 critic steps per generator step, Adam with betas (0, 0.9).

Diagnostics (``history_``, one record per epoch, means over the epoch's steps)
--------------------------------------------------------------------------
``d_loss``, ``g_loss``, ``d_real`` (mean D(x) on real data; the critic value for WGAN-GP),
``d_fake`` (mean D(G(z))), ``js_estimate`` and, for WGAN-GP, ``wasserstein_estimate``
(E f(x) - E f(G(z))) and ``gradient_penalty`` (E (‖∇f‖ - 1)², without λ); with
``r1_penalty`` > 0, ``r1_penalty`` (E_r ‖∇_x l‖², without γ). Every value of a
step is measured with the same discriminator (before its update) on the same batch, so the
identities of the theory hold record by record: e.g. ``g_loss = -E log d_fake`` per sample
for the non-saturating loss, and at D = 1/2 ``d_loss = 2 log 2``, ``g_loss = log 2``.

``js_estimate``: for every discriminator D, V(D) = E_r log D + E_g log(1 - D) is at most
its value at the optimal D* = p_r / (p_r + p_g), 2 JS(p_r ‖ p_g) - 2 log 2. So
``log 2 - bce / 2`` (bce: the epoch mean of the unsmoothed summed BCE) is a lower bound on
the Jensen–Shannon divergence, tight when D is optimal, clipped to [0, log 2]. For WGAN-GP
it is computed with σ(f) as the discriminator: still a lower bound, but a loose one, since
the critic is not trained for cross-entropy.

Spins and bits
--------------
Discrete data (±1 spins or 0/1 bits) are presented to both networks as ±1 values. The
generator works in a continuous relaxation: its last layer is ``tanh``, so its output
lies in (-1, 1)^N and gradients flow through it. ``relaxation`` says what the
discriminator sees of it:

- ``"tanh"`` (default): the relaxed values themselves, next to the exact ±1 data, which
  pushes the generator toward saturated (nearly ±1) outputs; ``sample`` returns their
  signs (0 maps to +1).
- ``"straight-through"``: the signs, so the discriminator compares spins with spins and
  cannot win by spotting unsaturated values; the gradient is the tanh's (the
  straight-through estimator, Bengio et al. 2013). ``sample`` returns the signs.
- ``"stochastic"``: spins drawn independently, +1 with probability (1 + t) / 2 for a
  tanh output t (stochastic straight-through). The latent code then carries the
  correlated part of a configuration and the per-spin draws its independent noise (as the
  visible units of an RBM given its hidden ones), which the deterministic map from a
  low-dimensional z cannot produce well, e.g. isolated flipped spins in an ordered
  phase. ``sample`` draws the spins in the same way from its ``seed``.

In every case ``sample`` returns valid spins (or bits) of the fitted dtype;
``sample_relaxed`` returns the continuous tanh values (for ``"stochastic"``, the
conditional means of the spins).

Conditional GAN (Mirza & Osindero 2014): ``conditional=True`` feeds a label to both
networks, concatenated to z and to the discriminator's input (as constant extra channels
for the conv discriminator). Integer labels are classes 0 .. K-1 (one-hot: a one-hot vector
followed by the first linear layer is a learned embedding); real labels (e.g. temperature)
are standardised with the training mean and standard deviation.

Architectures: ``"mlp"`` (LeakyReLU hidden layers) for any event shape, ``"conv"`` for L×L
lattices: DCGAN-style circular-padded blocks from :mod:`physgen.models.nets`, so the
networks respect periodic boundaries. ``"noise-field"`` (L×L lattices, generator only):
:class:`~physgen.models.nets.NoiseFieldGenerator`, full-resolution circular convolutions
fed with ``noise_channels`` independent noise values per site and with L×L maps made
from the global latent code, so that the local randomness of a disordered configuration
comes from local noise and its long-wavelength fluctuations (|m|) from the code. Its
discriminator is by default ``"mlp+conv"``: a conv net and an MLP whose logits add, since a
conv logit (a linear map of local features) sees the energy but hardly |m|, and an MLP the
reverse.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn.functional import one_hot, softplus

from physgen.models._gan_networks import Discriminator, Generator, GeneratorSnapshots
from physgen.models.base import GenerativeModel
from physgen.models.nets import (NoiseFieldGenerator, WarmupEMA, conv_decoder, conv_encoder,
                                 mlp, reinitialize)
from physgen.training.callbacks import DiscriminatorEquilibrium

__all__ = ["GAN", "DiscriminatorEquilibrium"]

LOSSES = ("non-saturating", "minimax", "wasserstein-gp")
NOISES = ("normal", "uniform")
ARCHITECTURES = ("mlp", "conv", "noise-field")
DISCRIMINATOR_ARCHITECTURES = ("mlp", "conv", "mlp+conv")
RELAXATIONS = ("tanh", "straight-through", "stochastic")
LOG2 = math.log(2.0)
_SAMPLE_CHUNK = 4096   # rows per generator forward pass in sample()


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _widths(name, value, allow_empty=True):
    if not isinstance(value, (tuple, list)) or (not value and not allow_empty) or any(
            isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in value):
        raise ValueError(f"{name} must be a sequence of positive integers (layer widths), "
                         f"got {value!r}")


class GAN(GenerativeModel):
    """Generative adversarial network (see the module docstring for losses and diagnostics).

    Parameters
    ----------
    loss : {"non-saturating", "minimax", "wasserstein-gp"}
    latent_dim : int
        Dimension of the latent noise z.
    noise : {"normal", "uniform"}
        Latent distribution: N(0, I) or U[-1, 1]^latent_dim.
    architecture : {"mlp", "conv", "noise-field"}
        Networks; ``"conv"`` needs L×L samples with L divisible by ``2**len(channels)``;
        ``"noise-field"`` (L×L samples) sets the generator, with an ``"mlp+conv"``
        discriminator unless ``discriminator_architecture`` says otherwise.
    discriminator_architecture : {"mlp", "conv", "mlp+conv"}, optional
        A different choice for the discriminator (default: ``architecture``). An MLP
        generator with a conv discriminator is much cheaper on a CPU than two conv nets.
        ``"mlp+conv"``: the sum of the logits of the two (L×L samples).
    noise_channels : int
        Independent noise values per lattice site fed to the ``"noise-field"`` generator
        (drawn from ``noise``, like the global code of ``latent_dim`` values).
    generator_hidden, discriminator_hidden : sequence of int
        Hidden widths of the MLP networks.
    generator_channels, discriminator_channels : sequence of int
        Channels per level of the conv networks (generator: coarse to fine). For the
        ``"noise-field"`` generator, the widths of its full-resolution conv layers.
        ``generator_channels=None``: (64, 32) for ``"conv"``, (32, 32, 32, 32) for
        ``"noise-field"``.
    pack : int
        Samples the discriminator judges together (PacGAN, Lin et al. 2018): it sees
        ``pack`` real or ``pack`` generated samples at once (concatenated for the MLP,
        stacked as channels for the conv net) and gives one logit per pack. The optimal
        packed discriminator compares the product distributions p_r^pack and p_g^pack, whose
        divergence grows with ``pack``, so that a difference in a broad per-sample statistic
        (e.g. |m| of a disordered lattice) is easier to see; the JS estimate, the D(x)
        values and the gradient penalties (the input gradient of a pack's logit) are per
        pack. A batch that is not a multiple of ``pack`` (an epoch's
        last) is filled up cyclically with its own rows. 1 (default): samples one by one.
    n_critic : int, optional
        Discriminator steps per generator step (default 5 for ``"wasserstein-gp"``, else 1).
        Each step uses a fresh mini-batch; the generator is updated on every
        ``n_critic``-th step.
    label_smoothing : float in [0, 1)
        One-sided: real targets are ``1 - label_smoothing`` (not for WGAN-GP).
    r1_penalty : float >= 0
        γ of the R1 penalty (Mescheder et al. 2018), ``γ/2 E_r ‖∇_x l(x)‖²`` on real data
        added to the discriminator's loss (cross-entropy losses). In Mescheder et al.'s
        analysis it makes the equilibrium locally convergent, where the unregularised game
        circles it; 0 (default): off. Logged as ``r1_penalty`` (the mean squared norm, without γ).
    gradient_penalty : float
        λ of WGAN-GP.
    conditional : bool
        Condition on labels: ``fit(X, y)``, ``sample(n, y=...)``.
    betas : pair of float, optional
        Adam betas (default (0.5, 0.999) as in DCGAN; (0, 0.9) for WGAN-GP).
    dropout : float
        Dropout after each hidden layer of the MLP discriminator.
    relaxation : {"tanh", "straight-through", "stochastic"}
        What the discriminator sees of the generator's tanh output for spin or bit data
        (see "Spins and bits" in the module docstring); ignored for continuous data.
    ema_decay : float in [0, 1), optional
        Keep an exponential moving average of the generator's weights (Yazıcı et al. 2019),
        with the warm-up decay min(ema_decay, (1 + n) / (10 + n)) after n generator steps,
        and sample from it: an average of the iterates, which oscillate around the
        equilibrium of the game. (Measured here: no gain on the 8-Gaussian ring, 68 % within
        3σ after 200 epochs with or without it.) ``None`` (default): sample from the
        trained generator.
    snapshot_epochs : int, optional
        Sample from an equal mixture of the generator (its EMA with ``ema_decay``) at the
        end of each of the last ``snapshot_epochs`` epochs (fewer until that many have
        ended): sample i comes from snapshot i mod k. Where the iterates circle the equilibrium, the mixture of their
        distributions averages the swing, which an average of their weights need not do
        (measured at T = 3.0: the EMA's |m| was 4 - 13 % low, its iterates' mean right).
        ``None`` (default): the last generator only.
    lookahead_steps : int, optional
        Lookahead-minmax (Chavdarova et al. 2021; Zhang et al. 2019 for one player): after
        every ``lookahead_steps`` training steps, the weights of both networks move back to
        ``slow + lookahead_alpha * (fast - slow)``, where ``slow`` are their weights at the
        previous such point, and training goes on from there (the Adam states are kept).
        The pull-back damps the rotation of the two players around the equilibrium, which
        plain alternating steps follow or amplify. ``None`` (default): off.
    lookahead_alpha : float in (0, 1]
        Step of the slow weights toward the fast ones (1: no lookahead).
    stop_tolerance : float, optional
        Stop when ``|d_real - 1/2|`` and ``|d_fake - 1/2|`` both stay within this for
        ``stop_patience`` consecutive epochs (the equilibrium of the game; BCE losses only).
    stop_patience : int
    epochs, batch_size, learning_rate, optimizer, lr_schedule, seed, device, on_nonfinite
        Shared settings (see :mod:`physgen.models.base`); ``learning_rate`` is used for both
        networks (default 1e-4, as for WGAN-GP).

    Attributes
    ----------
    module_ : nn.ModuleDict with ``"generator"`` and ``"discriminator"`` (and
        ``"generator_ema"``, a :class:`~physgen.models.nets.WarmupEMA`, with ``ema_decay``;
        ``"generator_snapshots"``, a ``GeneratorSnapshots``, with ``snapshot_epochs``)
    history_ : list of dict
        Per epoch: ``d_loss, g_loss, d_real, d_fake, js_estimate`` (and
        ``wasserstein_estimate, gradient_penalty`` for WGAN-GP), ``lr``, ``time``.
    label_kind_ : {"class", "continuous"} or None
    n_classes_ : int or None
    label_dim_ : int
        Width of the conditioning vector (0 if not conditional).
    label_mean_, label_scale_ : list of float or None
        Standardisation of continuous labels.
    """

    family = "gan"
    discrete_as = "spins"
    _fitted_json = ("label_kind_", "n_classes_", "label_dim_", "label_mean_", "label_scale_")

    def __init__(self, loss="non-saturating", *, latent_dim=32, noise="normal",
                 architecture="mlp", discriminator_architecture=None,
                 noise_channels=2, generator_hidden=(128, 128),
                 discriminator_hidden=(128, 128), generator_channels=None,
                 discriminator_channels=(32, 64), pack=1, n_critic=None,
                 label_smoothing=0.0,
                 r1_penalty=0.0,
                 gradient_penalty=10.0, conditional=False, betas=None, dropout=0.0,
                 relaxation="tanh", ema_decay=None, snapshot_epochs=None,
                 lookahead_steps=None,
                 lookahead_alpha=0.5, stop_tolerance=None, stop_patience=5,
                 epochs=50,
                 batch_size=64,
                 learning_rate=1e-4, optimizer="adam", lr_schedule="constant", seed=None,
                 device="cpu", on_nonfinite="raise"):
        self._store_settings(locals())

    # --- settings ------------------------------------------------------------------------

    @property
    def _wasserstein(self) -> bool:
        return self.loss == "wasserstein-gp"

    @property
    def _n_critic(self) -> int:
        if self.n_critic is not None:
            return int(self.n_critic)
        return 5 if self._wasserstein else 1

    def _check_settings(self) -> None:
        super()._check_settings()
        for name, choices in (("loss", LOSSES), ("noise", NOISES),
                              ("architecture", ARCHITECTURES), ("relaxation", RELAXATIONS)):
            self._require_choice(name, choices)
        if self.discriminator_architecture is not None:
            self._require_choice("discriminator_architecture", DISCRIMINATOR_ARCHITECTURES)
        if isinstance(self.noise_channels, bool) or not isinstance(
                self.noise_channels, (int, np.integer)) or self.noise_channels < 0:
            raise ValueError(f"noise_channels must be an integer >= 0, got "
                             f"{self.noise_channels!r}")
        self._require_positive_int("latent_dim", "pack", "stop_patience")
        self._require_positive_int("n_critic", "lookahead_steps", "snapshot_epochs",
                                   allow_none=True)
        _widths("generator_hidden", self.generator_hidden)
        _widths("discriminator_hidden", self.discriminator_hidden)
        if self.generator_channels is not None:
            _widths("generator_channels", self.generator_channels, allow_empty=False)
        _widths("discriminator_channels", self.discriminator_channels, allow_empty=False)
        if not isinstance(self.conditional, bool):
            raise ValueError(f"conditional must be True or False, got {self.conditional!r}")
        self._require_number("label_smoothing", 0, 1)
        self._require_number("r1_penalty", 0)
        self._require_number("gradient_penalty", 0)
        self._require_number("dropout", 0, 1)
        self._require_number("ema_decay", 0, 1, allow_none=True)
        self._require_number("lookahead_alpha", 0, 1, low_open=True, high_open=False)
        if self._wasserstein and self.r1_penalty:
            raise ValueError("r1_penalty applies to the cross-entropy losses; "
                             "loss='wasserstein-gp' has its own gradient_penalty")
        if self._wasserstein and self.label_smoothing:
            raise ValueError("label_smoothing applies to the cross-entropy losses, not to "
                             "loss='wasserstein-gp'")
        if self.betas is not None:
            if self.optimizer not in ("adam", "adamw"):
                raise ValueError(f"betas apply to optimizer 'adam' or 'adamw', not "
                                 f"{self.optimizer!r}")
            if not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2 or not all(
                    isinstance(b, (int, float)) and 0 <= b < 1 for b in self.betas):
                raise ValueError(f"betas must be two numbers in [0, 1), e.g. [0.5, 0.999], got "
                                 f"{self.betas!r}")
        if self.stop_tolerance is not None:
            if self._wasserstein:
                raise ValueError("stop_tolerance watches D(x) -> 1/2, which has no meaning "
                                 "for the unbounded WGAN-GP critic; use it with the "
                                 "cross-entropy losses")
            self._require_number("stop_tolerance", 0, 0.5, low_open=True)

    # --- labels --------------------------------------------------------------------------

    def _encode_y(self, y, n_samples: int, fitting: bool):
        """Labels -> the conditioning vectors the networks take, shape (n, label_dim_)."""
        if fitting:
            self.label_kind_ = self.n_classes_ = self.label_mean_ = self.label_scale_ = None
            self.label_dim_ = 0
        if self.conditional and y is None:
            raise ValueError("GAN(conditional=True) needs labels: fit(X, y) and "
                             "sample(n_samples, y=...)")
        labels = super()._encode_y(y, n_samples, fitting)
        if labels is None:
            return None
        if fitting:
            if labels.dtype == torch.int64:
                if int(labels.min()) < 0:
                    raise ValueError(f"class labels must be integers >= 0, got "
                                     f"{int(labels.min())}")
                self.label_kind_, self.n_classes_ = "class", int(labels.max()) + 1
                self.label_dim_ = self.n_classes_
            else:
                std = labels.std(0, unbiased=False) if len(labels) > 1 \
                    else torch.zeros(labels.shape[1])
                self.label_kind_, self.label_dim_ = "continuous", int(labels.shape[1])
                self.label_mean_ = labels.mean(0).tolist()
                self.label_scale_ = torch.where(std > 0, std, torch.ones_like(std)).tolist()
        if self.label_kind_ == "class":
            if labels.dtype != torch.int64:
                raise ValueError(f"this GAN was fitted on integer class labels 0 .. "
                                 f"{self.n_classes_ - 1}; got y of non-integer type")
            if int(labels.min()) < 0 or int(labels.max()) >= self.n_classes_:
                raise ValueError(f"class labels must lie in 0 .. {self.n_classes_ - 1}, got "
                                 f"values from {int(labels.min())} to {int(labels.max())}")
            return one_hot(labels, self.n_classes_).to(torch.float32)
        labels = labels.to(torch.float32).reshape(n_samples, -1)
        if labels.shape[1] != self.label_dim_:
            raise ValueError(f"y must have {self.label_dim_} value(s) per sample (as in fit), "
                             f"got {labels.shape[1]}")
        mean = torch.tensor(self.label_mean_, device=labels.device)
        return (labels - mean) / torch.tensor(self.label_scale_, device=labels.device)

    # --- hooks ---------------------------------------------------------------------------

    def _lattice(self):
        """(L, L) for the conv architecture; ValueError for any other event shape."""
        shape = self.event_shape_
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"conv networks need square lattices, samples of shape "
                             f"(L, L); got samples of shape {shape}")
        return shape

    def _build(self, n_features: int, generator) -> None:
        out_activation = nn.Tanh() if self.domain_ != "continuous" else None
        n_in = self.latent_dim + self.label_dim_
        if self.architecture == "conv":
            g_body = conv_decoder(n_in, self._lattice()[0],
                                  channels=tuple(self.generator_channels or (64, 32)),
                                  output_activation=out_activation)
        elif self.architecture == "noise-field":
            g_body = NoiseFieldGenerator(n_in, self._lattice()[0], self.noise_channels,
                                         tuple(self.generator_channels or (32,) * 4),
                                         output_activation=out_activation)
        else:
            g_body = mlp(n_in, n_features, tuple(self.generator_hidden),
                         output_activation=out_activation)
        d_architecture = self.discriminator_architecture or \
            ("mlp+conv" if self.architecture == "noise-field" else self.architecture)
        flat = None
        if d_architecture in ("mlp", "mlp+conv"):
            flat = mlp(self.pack * (n_features + self.label_dim_), 1,
                       tuple(self.discriminator_hidden),
                       dropout=self.dropout)
        if d_architecture == "mlp":
            discriminator = Discriminator(flat, pack=self.pack)
        else:
            lattice = self._lattice()
            conv = conv_encoder(lattice[0], 1, in_channels=self.pack * (1 + self.label_dim_),
                                channels=tuple(self.discriminator_channels))
            discriminator = Discriminator(conv, lattice, flat, self.pack)
        self.module_ = nn.ModuleDict({"generator": Generator(g_body),
                                      "discriminator": discriminator})
        reinitialize(self.module_, generator)
        if self.ema_decay is not None:
            # after the redraw: the average starts from the generator's initial weights
            self.module_["generator_ema"] = WarmupEMA(self.module_["generator"],
                                                      self.ema_decay)
        if self.snapshot_epochs is not None:
            self.module_["generator_snapshots"] = GeneratorSnapshots(
                self._trained_generator(), self.snapshot_epochs)

    def _configure_optimizers(self) -> dict:
        options = {}
        if self.optimizer in ("adam", "adamw"):
            betas = self.betas if self.betas is not None else \
                ((0.0, 0.9) if self._wasserstein else (0.5, 0.999))
            options["betas"] = tuple(float(b) for b in betas)
            # the multi-tensor form of the same update (bit-identical on the CPU): the
            # per-tensor loop is a visible part of a small network's step
            options["foreach"] = True
        return {name: self._make_optimizer(self.module_[name].parameters(), **options)
                for name in ("generator", "discriminator")}

    def _start_training(self, x, y) -> None:
        # running sums for the epoch's JS estimate; tensors so that a skipped step is undone
        self._bce_sum = torch.zeros((), device=self.device_)
        self._bce_count = torch.zeros((), device=self.device_)
        # looked up once: frozen and unfrozen around every generator step
        self._d_parameters = list(self.module_["discriminator"].parameters())
        # lookahead: the slow weights of both networks, starting from the initial ones (a
        # resume overwrites them with the checkpoint's)
        self._fast = [p for name in ("generator", "discriminator")
                      for p in self.module_[name].parameters()]
        self._slow = [p.detach().clone() for p in self._fast] if self.lookahead_steps else []

    def _discretize(self, out, generator=None):
        """Spins the discriminator sees for the generator's tanh output ``out``.

        ``"tanh"``: ``out`` itself; ``"straight-through"``: sign(out) forward;
        ``"stochastic"``: +1 with probability (1 + out) / 2, drawn from ``generator``
        (default: the training generator). Both discrete variants pass the tanh's gradient
        backward (the straight-through estimator, Bengio et al. 2013).
        """
        if self.relaxation == "tanh" or self.domain_ == "continuous":
            return out
        if self.relaxation == "straight-through":
            spins = torch.where(out >= 0, 1.0, -1.0)
        else:
            u = torch.rand(out.shape, generator=self.generator_ if generator is None
                           else generator, device=out.device)
            spins = torch.where(2 * u < 1 + out.detach(), 1.0, -1.0)
        return out + (spins - out).detach()

    def _noise(self, n: int, generator) -> torch.Tensor:
        """Latent rows ``(n, width)``: for ``"noise-field"``, ``noise_channels`` values per
        site followed by the global code, all from the ``noise`` distribution."""
        width = self.latent_dim
        if self.architecture == "noise-field":
            width += self.noise_channels * int(np.prod(self.event_shape_))
        shape = (n, width)
        if self.noise == "normal":
            return torch.randn(shape, generator=generator, device=self.device_)
        return torch.rand(shape, generator=generator, device=self.device_) * 2 - 1

    def _generator_loss(self, fake_logits, loss: str):
        if loss == "non-saturating":
            return softplus(-fake_logits).mean()           # -log σ(l)
        if loss == "minimax":
            return -softplus(fake_logits).mean()           # log(1 - σ(l))
        return -fake_logits.mean()

    def _gradient_penalty(self, real, fake, label):
        net = self.module_["discriminator"]
        # one interpolation weight per pack: the critic's input is the whole pack
        eps = torch.rand((len(real) // self.pack, 1), generator=self.generator_,
                         device=real.device).repeat_interleave(self.pack, 0)
        mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
        grad, = torch.autograd.grad(net(mixed, label).sum(), mixed, create_graph=True)
        squared = grad.reshape(len(real) // self.pack, -1).square().sum(1)
        # the small constant keeps the gradient of the norm finite at a zero gradient
        return ((squared + 1e-12).sqrt() - 1).square().mean()

    def _whole_packs(self, x, y=None):
        """Rows (and labels) repeated cyclically up to a multiple of ``pack`` (only a
        batch whose size is not a multiple, e.g. an epoch's last, is changed)."""
        short = -len(x) % self.pack
        if not short:
            return x, y
        index = torch.arange(len(x) + short, device=x.device) % len(x)
        return x[index], None if y is None else y[index]

    def _train_step(self, x, y, step: int) -> dict:
        G, D = self.module_["generator"], self.module_["discriminator"]
        x, y = self._whole_packs(x, y)
        n = len(x)
        update_generator = (step + 1) % self._n_critic == 0
        z = self._noise(n, self.generator_)
        # one generator pass per step, tracked only when the generator is updated (DCGAN)
        with torch.set_grad_enabled(update_generator):
            fake = self._discretize(G(z, y))
        # real and generated rows in one discriminator pass: half the per-call overhead of
        # two passes, and the same values (no layer mixes rows)
        rows = torch.cat([x, fake.detach()])
        r1 = bool(self.r1_penalty) and not self._wasserstein
        if r1:
            rows.requires_grad_(True)
        logits = D(rows, None if y is None else torch.cat([y, y]))
        real_logits, fake_logits = logits[:n // self.pack], logits[n // self.pack:]
        if self._wasserstein:
            penalty = self._gradient_penalty(x, fake.detach(), y)
            d_real, d_fake = real_logits.mean(), fake_logits.mean()
            wasserstein = d_real - d_fake
            d_loss = self.gradient_penalty * penalty - wasserstein
            logs = {"wasserstein_estimate": wasserstein.detach(),
                    "gradient_penalty": penalty.detach()}
            with torch.no_grad():
                bce = softplus(-real_logits).mean() + softplus(fake_logits).mean()
        else:
            # BCE(l, 1) = softplus(-l), BCE(l, 0) = softplus(l); smoothing: target 1 - s
            real_term, fake_term = softplus(-real_logits).mean(), softplus(fake_logits).mean()
            bce = (real_term + fake_term).detach()
            if self.label_smoothing:
                s = self.label_smoothing
                d_loss = (1 - s) * real_term + s * softplus(real_logits).mean() + fake_term
            else:
                d_loss = real_term + fake_term
            with torch.no_grad():
                d_real = torch.sigmoid(real_logits).mean()
                d_fake = torch.sigmoid(fake_logits).mean()
            logs = {}
            if r1:
                # the real rows' logits depend on the real rows only (no layer mixes rows)
                grad, = torch.autograd.grad(real_logits.sum(), rows, create_graph=True)
                penalty = grad[:n].reshape(n // self.pack, -1).square().sum(1).mean()
                d_loss = d_loss + 0.5 * self.r1_penalty * penalty
                logs["r1_penalty"] = penalty.detach()
        optimizer = self.optimizers_["discriminator"]
        optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        optimizer.step()
        with torch.no_grad():
            self._bce_sum += bce
            self._bce_count += 1
        logs.update(d_loss=d_loss.detach(),
                    g_loss=self._generator_loss(fake_logits.detach(), self.loss),
                    d_real=d_real.detach(), d_fake=d_fake.detach())
        if update_generator:
            # D's parameters take no gradient here: only the generator is stepped
            for p in self._d_parameters:
                p.requires_grad_(False)
            g_loss = self._generator_loss(D(fake, y), self.loss)
            optimizer = self.optimizers_["generator"]
            optimizer.zero_grad(set_to_none=True)
            g_loss.backward()
            optimizer.step()
            for p in self._d_parameters:
                p.requires_grad_(True)
            if self.ema_decay is not None:
                self.module_["generator_ema"].step(G)
        if self.lookahead_steps and (step + 1) % self.lookahead_steps == 0:
            with torch.no_grad():
                for slow, fast in zip(self._slow, self._fast):
                    slow.lerp_(fast, float(self.lookahead_alpha))
                    fast.copy_(slow)
        return logs

    def _end_of_epoch(self, x, y) -> dict:
        mean_bce = float(self._bce_sum / self._bce_count.clamp(min=1))
        self._bce_sum.zero_()
        self._bce_count.zero_()
        if self.snapshot_epochs is not None:
            self.module_["generator_snapshots"].take(self._trained_generator())
        return {"js_estimate": min(max(LOG2 - mean_bce / 2, 0.0), LOG2)}

    def _get_training_state(self) -> dict:
        state = {"bce_sum": self._bce_sum, "bce_count": self._bce_count}
        state.update({f"lookahead_slow.{i}": slow for i, slow in enumerate(self._slow)})
        return state

    def _set_training_state(self, tensors: dict) -> None:
        self._bce_sum = tensors["bce_sum"].clone()
        self._bce_count = tensors["bce_count"].clone()
        for i, slow in enumerate(self._slow):
            slow.copy_(tensors[f"lookahead_slow.{i}"])

    def _trained_generator(self) -> nn.Module:
        """The EMA of the generator if kept, else the generator itself."""
        if self.ema_decay is not None:
            return self.module_["generator_ema"].module
        return self.module_["generator"]

    def _sampling_generator(self) -> nn.Module:
        """The network samples come from: the mixture of snapshots once one is taken, else
        the trained generator."""
        snapshots = self.module_["generator_snapshots"] if self.snapshot_epochs else None
        return snapshots if snapshots is not None and snapshots.n_held else \
            self._trained_generator()

    def _relaxed(self, n: int, y, generator) -> torch.Tensor:
        """Generator output for ``n`` fresh latent draws, ``(n, n_features)``."""
        G = self._sampling_generator()
        z = self._noise(n, generator)
        with torch.no_grad():
            return torch.cat([G(z[i:i + _SAMPLE_CHUNK],
                                None if y is None else y[i:i + _SAMPLE_CHUNK])
                              for i in range(0, n, _SAMPLE_CHUNK)])

    def _sample(self, n: int, y, generator, rejection: bool = False):
        if rejection:
            return self._rejection_sample(n, y, generator)
        out = self._relaxed(n, y, generator)
        if self.relaxation == "stochastic" and self.domain_ != "continuous":
            return self._discretize(out, generator)   # spins drawn as in training
        return out

    def _rejection_sample(self, n: int, y, generator):
        """Discriminator rejection sampling (Azadi et al. 2019), unconditional models: for
        the optimal discriminator, exp(logit) = D / (1 - D) = p_r / p_g."""
        from physgen.samplers.rejection import density_ratio_rejection

        return density_ratio_rejection(lambda m: self._sample(m, None, generator),
                                       self.module_["discriminator"], n, generator,
                                       chunk=max(256, min(2 * n, _SAMPLE_CHUNK)))

    def sample(self, n_samples: int, y=None, seed=None, *, rejection: bool = False):
        """Draw ``n_samples`` samples, shape ``(n_samples, *event_shape_)``, in the fitted
        domain and dtype. Same ``seed`` -> same samples.

        Parameters
        ----------
        n_samples : int
        y : labels, for a conditional model
        seed : seed-like
        rejection : bool
            Discriminator rejection sampling (Azadi et al. 2019): keep each generated
            sample with probability D(x) / (1 - D(x)) / M, which for the optimal D is
            p_r(x) / (M p_g(x)), so that the kept samples follow the data distribution where
            the generator has put mass. It removes samples the discriminator rejects (e.g.
            between the modes of a mixture) but cannot restore modes the generator never
            reaches. Cross-entropy losses and unconditional models only (the WGAN-GP critic
            is not a density ratio).
        """
        if rejection:
            self._check_fitted()
            if self._wasserstein:
                raise ValueError("rejection sampling needs a discriminator that estimates "
                                 "p_r / p_g (the cross-entropy losses), not the WGAN-GP "
                                 "critic")
            if self.conditional:
                raise ValueError("rejection sampling is implemented for unconditional "
                                 "GANs only")
            if self.pack > 1:
                raise ValueError(f"rejection sampling needs a discriminator of single "
                                 f"samples; this one judges packs of {self.pack}")
        return super().sample(n_samples, y, seed, rejection=rejection)

    # --- public methods beyond the contract ------------------------------------------------

    def fit(self, X, y=None, *, checkpoint_dir=None, resume: bool = False, callbacks=()):
        """Fit to ``X`` (and labels ``y`` when ``conditional``); see
        :meth:`GenerativeModel.fit`. With ``stop_tolerance`` set, a
        :class:`DiscriminatorEquilibrium` callback is added."""
        callbacks = list(callbacks)
        self._check_settings()     # before the stop rule is built from them
        if self.stop_tolerance is not None:
            callbacks.append(DiscriminatorEquilibrium(self.stop_tolerance, self.stop_patience))
        return super().fit(X, y, checkpoint_dir=checkpoint_dir, resume=resume,
                           callbacks=callbacks)

    def sample_relaxed(self, n_samples: int, y=None, seed=None) -> np.ndarray:
        """The generator's continuous output, shape ``(n_samples, *event_shape_)``, float32.

        For spin or bit data these are the tanh-relaxed values in (-1, 1) whose signs
        :meth:`sample` returns (same ``seed``, same draws).
        """
        from physgen.random import torch_generator

        self._check_fitted()
        _positive_int("n_samples", n_samples)
        label = self._encode_y(y, int(n_samples), fitting=False)
        self.module_.eval()
        out = self._relaxed(int(n_samples), label, torch_generator(seed, device=self.device_))
        return out.cpu().numpy().reshape((int(n_samples), *self.event_shape_))

    def discriminate(self, X, y=None) -> np.ndarray:
        """D(x) = σ(logit) per sample (the raw critic value for WGAN-GP), shape ``(n,)``;
        with ``pack`` > 1, one value per pack of consecutive samples, shape ``(n // pack,)``.

        ``X`` is in the fitted domain (spins, bits or continuous), shape
        ``(n, *event_shape_)``, n a multiple of ``pack``; labels ``y`` for a conditional
        model.
        """
        x = self._check_X(X)
        if len(x) % self.pack:
            raise ValueError(f"this discriminator judges packs of {self.pack} samples; "
                             f"X must hold a multiple of {self.pack} samples, got {len(x)}")
        label = self._encode_y(y, len(x), fitting=False)
        self.module_.eval()
        with torch.no_grad():
            out = self.module_["discriminator"](x, label)
            if not self._wasserstein:
                out = torch.sigmoid(out)
        return out.cpu().double().numpy()

    def generator_gradient_norm(self, loss: str | None = None, n_samples: int = 256, y=None,
                                seed=None) -> float:
        """‖∇_θ L_G‖₂ over all generator parameters at the current discriminator.

        The diagnostic of Arjovsky & Bottou (2017): when D separates real from generated
        data confidently, the gradient of the minimax loss E log(1 - D(G(z))) vanishes
        (∂/∂l log(1 - σ(l)) = -σ(l) -> 0), while the non-saturating loss keeps a gradient
        of order one (∂/∂l (-log σ(l)) = σ(l) - 1 -> -1).

        Parameters
        ----------
        loss : {"non-saturating", "minimax", "wasserstein-gp"}, optional
            Generator loss to differentiate (default: the model's own).
        n_samples : int
            Latent draws in the batch (rounded up to a multiple of ``pack``).
        y : labels for a conditional model
        seed : seed-like
        """
        from physgen.random import torch_generator

        self._check_fitted()
        loss = self.loss if loss is None else loss
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        _positive_int("n_samples", n_samples)
        n_samples = -(-int(n_samples) // self.pack) * self.pack
        label = self._encode_y(y, n_samples, fitting=False)
        G, D = self.module_["generator"], self.module_["discriminator"]
        self.module_.eval()
        generator = torch_generator(seed, device=self.device_)
        z = self._noise(int(n_samples), generator)
        params = [p for p in G.parameters() if p.requires_grad]
        fake = self._discretize(G(z, label), generator)
        grads = torch.autograd.grad(self._generator_loss(D(fake, label), loss), params)
        return float(torch.sqrt(sum(g.square().sum() for g in grads)))
