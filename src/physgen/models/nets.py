"""The only shared network code: MLPs and lattice conv blocks with circular padding.

Lattice configurations live on a torus, so every convolution pads circularly
(``padding_mode="circular"``): a filter at the edge sees the opposite edge, as the
Hamiltonian does. Upsampling is nearest-neighbour + circular conv (transposed convolutions
cannot pad circularly).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def _activation(activation) -> nn.Module:
    """A fresh activation module (instances are deep-copied per layer)."""
    if activation is None:
        return nn.LeakyReLU(0.2)
    return copy.deepcopy(activation) if isinstance(activation, nn.Module) else activation()


def mlp(in_features: int, out_features: int, hidden=(128, 128), activation=None,
        output_activation: nn.Module | None = None, dropout: float = 0.0) -> nn.Sequential:
    """A multilayer perceptron ``(batch, in_features) -> (batch, out_features)``.

    Parameters
    ----------
    hidden : sequence of int
        Widths of the hidden layers (empty: a single linear map).
    activation : nn.Module or callable returning one, default ``LeakyReLU(0.2)``
    output_activation : nn.Module, optional
        Appended after the last linear layer (e.g. ``nn.Tanh()`` for ±1 outputs).
    dropout : float
        Dropout probability after each hidden activation.
    """
    layers: list[nn.Module] = []
    width = in_features
    for size in hidden:
        layers += [nn.Linear(width, size), _activation(activation)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, out_features))
    if output_activation is not None:
        layers.append(output_activation)
    return nn.Sequential(*layers)


def _check_lattice(L: int, n_levels: int) -> None:
    if L % (2 ** n_levels):
        raise ValueError(f"lattice size L={L} must be divisible by 2**{n_levels} = "
                         f"{2 ** n_levels} for {n_levels} down/up-sampling levels")


def conv_encoder(L: int, out_features: int, in_channels: int = 1, channels=(32, 64),
                 activation=None) -> nn.Sequential:
    """Conv encoder / discriminator ``(batch, in_channels, L, L) -> (batch, out_features)``.

    Each level: circular 3×3 conv with stride 2 (halves L) and an activation; then a
    linear map from the flattened features. ``L`` must be divisible by ``2**len(channels)``.
    """
    _check_lattice(L, len(channels))
    layers: list[nn.Module] = []
    width = in_channels
    for size in channels:
        layers += [nn.Conv2d(width, size, 3, stride=2, padding=1, padding_mode="circular"),
                   _activation(activation)]
        width = size
    side = L // 2 ** len(channels)
    layers += [nn.Flatten(), nn.Linear(width * side * side, out_features)]
    return nn.Sequential(*layers)


class _Unflatten(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(len(x), *self.shape)


def conv_decoder(in_features: int, L: int, out_channels: int = 1, channels=(64, 32),
                 activation=None, output_activation: nn.Module | None = None) -> nn.Sequential:
    """Conv decoder / DCGAN-style generator ``(batch, in_features) -> (batch, out_channels,
    L, L)``.

    A linear map to ``channels[0]`` maps of side ``L / 2**len(channels)``, then per level:
    nearest upsampling ×2, circular 3×3 conv, activation; a final circular 3×3 conv to
    ``out_channels`` (plus ``output_activation``, e.g. ``nn.Tanh()`` for spins).
    """
    _check_lattice(L, len(channels))
    side = L // 2 ** len(channels)
    layers: list[nn.Module] = [nn.Linear(in_features, channels[0] * side * side),
                               _activation(activation), _Unflatten((channels[0], side, side))]
    width = channels[0]
    for size in channels:
        layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                   nn.Conv2d(width, size, 3, padding=1, padding_mode="circular"),
                   _activation(activation)]
        width = size
    layers.append(nn.Conv2d(width, out_channels, 3, padding=1, padding_mode="circular"))
    if output_activation is not None:
        layers.append(output_activation)
    return nn.Sequential(*layers)


class NoiseFieldGenerator(nn.Module):
    """Lattice generator driven by a global code and a per-site noise field
    ``(batch, noise_channels * L * L + in_features) -> (batch, out_channels, L, L)``.

    The input row is the noise field (``noise_channels`` values per site, first) followed by
    the global code (latent noise and any label). A linear map turns the code into
    ``code_channels`` maps of L×L values, which are joined with the noise field; circular
    3×3 convolutions of widths ``channels`` (each followed by the activation) and a last
    circular 3×3 convolution to ``out_channels`` follow.

    Why: a configuration of a disordered lattice is mostly local randomness (a spin's
    neighbourhood decides its value, with correlations over a few sites), which the
    per-site noise and a stack of local filters produce directly, as a Monte Carlo update
    does; the code maps carry what extends over the whole lattice, the long-wavelength
    fluctuations that set |m|. With a code broadcast uniformly to every site instead, the
    generated |m| came out 25 % low on 16×16 lattices at T = 3; a DCGAN decoder has to
    make every site's randomness from the global code alone. (Per-site noise inputs also
    drive StyleGAN's fine detail, Karras et al. 2019.)
    """

    def __init__(self, in_features: int, L: int, noise_channels: int = 2,
                 channels=(32, 32, 32, 32), code_channels: int = 4, out_channels: int = 1,
                 activation=None, output_activation: nn.Module | None = None):
        super().__init__()
        self.L, self.noise_channels, self.code_channels = L, noise_channels, code_channels
        self.field_size = noise_channels * L * L
        self.code = nn.Linear(in_features, code_channels * L * L)
        layers: list[nn.Module] = []
        width = noise_channels + code_channels
        for size in channels:
            layers += [nn.Conv2d(width, size, 3, padding=1, padding_mode="circular"),
                       _activation(activation)]
            width = size
        layers.append(nn.Conv2d(width, out_channels, 3, padding=1, padding_mode="circular"))
        if output_activation is not None:
            layers.append(output_activation)
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, L = len(x), self.L
        field = x[:, :self.field_size].reshape(n, self.noise_channels, L, L)
        code = self.code(x[:, self.field_size:]).reshape(n, self.code_channels, L, L)
        return self.body(torch.cat([field, code], 1))


def reinitialize(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Redraw the weights and biases of every Linear and Conv2d layer from ``generator``.

    PyTorch's constructors initialise from the global RNG, which physgen never relies on;
    this redraws with the same distribution as PyTorch's default (uniform in
    ±1/sqrt(fan_in) for weights and biases) from a seeded generator. Returns ``module``.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            bound = 1.0 / layer.weight[0].numel() ** 0.5
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=generator)
                if layer.bias is not None:
                    layer.bias.uniform_(-bound, bound, generator=generator)
    return module


class Standardize(nn.Module):
    """Per-feature standardisation ``(x - shift) / scale`` whose statistics are buffers, so
    that they are saved and loaded with the weights.

    ``fit(x)`` sets them from data ``(n, n_features)`` (scale floored at 1e-6; a single row
    keeps scale 1); ``forward`` standardises, ``inverse`` maps back.
    """

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("shift", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))

    def fit(self, x: torch.Tensor) -> "Standardize":
        with torch.no_grad():
            self.shift.copy_(x.mean(0))
            self.scale.copy_(x.std(0).clamp_min(1e-6) if len(x) > 1 else
                             torch.ones_like(self.scale))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.shift) / self.scale

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.scale + self.shift


def ema_with_warmup(decay: float):
    """EMA update for ``AveragedModel`` whose decay grows as (1 + n) / (10 + n) up to ``decay``
    (n: updates so far), so that a short run is not dominated by the initial weights."""

    def update(ema_params, params, n_averaged):
        n = int(n_averaged)
        get_ema_multi_avg_fn(min(decay, (1.0 + n) / (10.0 + n)))(ema_params, params, n_averaged)

    return update


class WarmupEMA(AveragedModel):
    """An exponential moving average of ``module``'s weights with the warm-up decay of
    :func:`ema_with_warmup`, kept as a frozen copy (``self.module``) that is saved and loaded
    with the rest of a model's weights (keys ``module.*`` and ``n_averaged``, as for
    ``AveragedModel``).

    :meth:`step` is the same arithmetic as ``update_parameters(source)`` (a copy at the first
    update, then a lerp with the warm-up decay), in one fused ``_foreach`` call on parameter
    lists looked up once: ``update_parameters`` rebuilds and regroups those lists and copies
    the buffers at every call, several percent of a small network's training step. Use it
    for networks whose buffers are constants.
    """

    def __init__(self, module: nn.Module, decay: float):
        super().__init__(module, multi_avg_fn=ema_with_warmup(decay))
        self.decay = float(decay)
        self.requires_grad_(False)
        self._pairs = None

    @torch.no_grad()
    def step(self, source: nn.Module) -> None:
        """One EMA update from ``source`` (always the same module)."""
        if self._pairs is None:
            self._pairs = (list(self.module.parameters()), list(source.parameters()))
        averaged, current = self._pairs
        n = int(self.n_averaged)
        if n == 0:
            torch._foreach_copy_(averaged, current)
        else:
            torch._foreach_lerp_(averaged, current,
                                 1.0 - min(self.decay, (1.0 + n) / (10.0 + n)))
        self.n_averaged += 1
