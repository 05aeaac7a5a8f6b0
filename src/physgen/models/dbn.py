"""Deep belief network: RBMs stacked by greedy layer-wise training (Hinton et al. 2006).

Layer 0 is an RBM on the data (Bernoulli or Gaussian visible units); layer l > 0 is a
Bernoulli RBM whose data are the hidden probabilities p(h | v) of the layers below (a
deterministic up-pass). The layers are trained one after the other, each for
``epochs / n_layers`` epochs with its own optimizer, learning-rate schedule and persistent
chains, by the same procedures as :class:`physgen.models.rbm.RBM` (the layers ARE RBM objects
sharing this model's settings, random streams and checkpoint).

Sampling runs block Gibbs in the top RBM (between the top two layers, the undirected part of
the network), then a down-pass through the directed layers below:
v_{l} ~ p(v_l | h_l) = σ(a_l + W_l h_l), ending with the data layer's conditional (its mean
for Bernoulli units on continuous data, as for the RBM).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from physgen.models.base import GenerativeModel
from physgen.models.rbm import RBM, _RBMNet
from physgen.samplers.gibbs import bernoulli, block_gibbs
from physgen.training.optim import lr_factor

# settings passed unchanged to every layer's RBM
_LAYER_SETTINGS = ("sigma", "learn_sigma", "training", "k", "n_chains", "n_temperatures",
                   "centering", "weight_decay", "momentum", "init_std", "burn_in", "batch_size",
                   "learning_rate", "optimizer", "lr_schedule", "device", "on_nonfinite")


class DBN(GenerativeModel):
    """Stacked RBMs trained greedily, layer by layer.

    Parameters
    ----------
    hidden_layers : tuple of int
        Hidden units of each layer, bottom first (at least one layer).
    visible : {"bernoulli", "gaussian"}
        Visible units of the bottom RBM (the others are Bernoulli).
    sigma, learn_sigma, training, k, n_chains, n_temperatures, centering, weight_decay,
    momentum, init_std
        Per-layer RBM settings (see :class:`physgen.models.rbm.RBM`).
    burn_in : int
        Default Gibbs sweeps in the top RBM when sampling.
    epochs : int
        Total epochs, split evenly between the layers (must be a multiple of their number).
    batch_size, learning_rate, optimizer, lr_schedule, seed, device, on_nonfinite
        Shared settings; the learning-rate schedule restarts for each layer.

    Attributes
    ----------
    module_ : nn.ModuleList of the layers' parameters (``W``, ``visible_bias``, ...)
    layers_ : list of RBM
        The layers as RBMs (``layers_[l].module_`` is ``module_[l]``); use them to look at
        one layer (``transform``, ``free_energy`` of its own input).
    history_ : list of dict
        Per epoch: ``layer`` (1-based, the layer trained), that layer's monitoring values
        (``loss``, ``pseudo_log_likelihood``, ...), ``lr`` (of the run's schedule), ``time``.
    """

    family = "dbn"
    discrete_as = "bits"

    def __init__(self, hidden_layers=(64, 32), *, visible="bernoulli", sigma=1.0,
                 learn_sigma=False, training="pcd", k=1, n_chains=None, n_temperatures=10,
                 centering=True, weight_decay=0.0, momentum=0.0, init_std=0.01, burn_in=1000,
                 epochs=20, batch_size=64, learning_rate=0.01, optimizer="adam",
                 lr_schedule="constant", seed=None, device="cpu", on_nonfinite="raise"):
        self._store_settings(locals())

    # --- settings ------------------------------------------------------------------------

    def _check_settings(self) -> None:
        super()._check_settings()
        layers = self.hidden_layers
        if not isinstance(layers, (tuple, list)) or not layers or any(
                isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1
                for n in layers):
            raise ValueError(f"hidden_layers must be a non-empty sequence of positive integers, "
                             f"got {layers!r}")
        if self.epochs % len(layers):
            raise ValueError(f"epochs ({self.epochs}) must be a multiple of the number of layers "
                             f"({len(layers)}): each layer trains for epochs / n_layers epochs")
        for layer in self._make_layers(1):
            layer._check_settings()

    def _make_layers(self, n_features: int) -> list[RBM]:
        shared = {name: getattr(self, name) for name in _LAYER_SETTINGS}
        layers = []
        for index, n_hidden in enumerate(self.hidden_layers):
            visible = self.visible if index == 0 else "bernoulli"
            layers.append(RBM(int(n_hidden), visible=visible, epochs=1, **shared))
        return layers

    # --- hooks ---------------------------------------------------------------------------

    def _build(self, n_features: int, generator) -> None:
        self.layers_ = self._make_layers(n_features)
        sizes = [n_features, *map(int, self.hidden_layers)]
        nets = []
        for index, layer in enumerate(self.layers_):
            net = _RBMNet(sizes[index], sizes[index + 1], layer._gaussian)
            with torch.no_grad():
                net.W.normal_(0.0, self.init_std, generator=generator)
            layer.module_, layer.chains_, layer.device_ = net, None, self.device_
            layer.n_features_, layer.event_shape_ = sizes[index], (sizes[index],)
            layer.domain_ = self.domain_ if index == 0 else "continuous"
            layer.dtype_ = "float32"
            nets.append(net)
        self.module_ = nn.ModuleList(nets)

    def _bind_layers(self) -> None:
        """Share this model's device, random streams and optimizers with the layers."""
        for index, layer in enumerate(self.layers_):
            layer.device_ = self.device_
            layer.rng_, layer.generator_ = self.rng_, self.generator_
            layer.optimizers_ = {"model": self.optimizers_[f"layer{index}"]}

    def _configure_optimizers(self) -> dict:
        return {f"layer{index}": layer._configure_optimizers()["model"]
                for index, layer in enumerate(self.layers_)}

    def _start_training(self, x, y) -> None:
        self._bind_layers()
        self._steps_per_layer = -(-len(x) // self.batch_size) * (self.epochs // len(self.layers_))
        for layer in self.layers_:
            layer._prepare_training(layer.n_chains or layer.batch_size)
            layer.chains_ = None
        self._start_layer(0, x)

    def _start_layer(self, index: int, x) -> None:
        """Initialise layer ``index`` from its input (the up-pass of the whole data set)."""
        layer = self.layers_[index]
        layer._initialise_from_data(self._up(x, index))
        layer._start_chains()

    def _up(self, x, index: int):
        """Input of layer ``index``: p(h | v) of the layers below, mean-field up-pass."""
        with torch.no_grad():
            for layer in self.layers_[:index]:
                x = layer._hidden_probabilities(x)
        return x

    def _layer_index(self, step: int) -> int:
        return min(step // self._steps_per_layer, len(self.layers_) - 1)

    def _train_step(self, x, y, step: int) -> dict:
        index = self._layer_index(step)
        optimizer = self.optimizers_[f"layer{index}"]
        factor = lr_factor(self.lr_schedule, step - index * self._steps_per_layer,
                           self._steps_per_layer)
        for group in optimizer.param_groups:   # the schedule restarts for every layer
            group["lr"] = group["initial_lr"] * factor
        return self.layers_[index]._train_step(self._up(x, index), None, step)

    def _end_of_epoch(self, x, y) -> dict:
        steps_done = self._trainer_steps(x)
        index = self._layer_index(steps_done - 1)
        logs = {"layer": index + 1}
        logs.update(self.layers_[index]._end_of_epoch(self._up(x, index), None))
        if steps_done % self._steps_per_layer == 0 and index + 1 < len(self.layers_):
            # this layer is done: the next one starts from its input's statistics now, so
            # that a checkpoint written after this epoch holds it ready
            self._start_layer(index + 1, x)
        return logs

    def _trainer_steps(self, x) -> int:
        """Optimizer steps taken so far (epochs completed including this one × steps)."""
        return (len(self.history_) + 1) * -(-len(x) // self.batch_size)

    def _get_training_state(self) -> dict:
        state = {}
        for index, layer in enumerate(self.layers_):
            for key, value in layer._get_training_state().items():
                state[f"layer{index}/{key}"] = value
        return state

    def _set_training_state(self, tensors: dict) -> None:
        for index, layer in enumerate(self.layers_):
            prefix = f"layer{index}/"
            layer._set_training_state({key[len(prefix):]: value for key, value in tensors.items()
                                       if key.startswith(prefix)})

    def _sample(self, n: int, y, generator, burn_in=None):
        steps = self.burn_in if burn_in is None else burn_in
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"burn_in must be a non-negative integer, got {steps!r}")
        top = self.layers_[-1]
        with torch.no_grad():
            if len(self.layers_) == 1:
                return top._sample(n, None, generator, burn_in=int(steps))
            v = bernoulli(torch.full((n, top.n_features_), 0.5, device=self.device_), generator)
            v, _ = block_gibbs(v, top._sample_hidden, top._sample_visible, int(steps), generator)
            for layer in reversed(self.layers_[1:-1]):
                v, _ = layer._sample_visible(v, generator)
            bottom = self.layers_[0]
            v, mean = bottom._sample_visible(v, generator)
        if not bottom._gaussian and self.domain_ == "continuous":
            return mean
        return v

    # --- public methods beyond the contract ------------------------------------------------

    def sample(self, n_samples: int, y=None, seed=None, *, burn_in: int | None = None
               ) -> np.ndarray:
        """Samples through the stack, shape ``(n_samples, *event_shape_)``.

        Parameters
        ----------
        burn_in : int, optional
            Gibbs sweeps in the top RBM (default: the ``burn_in`` setting).
        """
        return super().sample(n_samples, y, seed, burn_in=burn_in)

    def transform(self, X) -> np.ndarray:
        """Top-layer hidden probabilities (the mean-field up-pass), shape
        ``(n_samples, hidden_layers[-1])``, float32."""
        x = self._check_X(X)
        with torch.no_grad():
            return self.layers_[-1]._hidden_probabilities(
                self._up(x, len(self.layers_) - 1)).cpu().numpy()
