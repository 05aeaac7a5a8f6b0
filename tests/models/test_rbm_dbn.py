"""Stacked RBMs (deep belief network): greedy layer-wise training, sampling through the
stack against the exact distribution of a small network, resuming, and settings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import chisquare

import physgen as pg
from physgen.models.dbn import DBN
from physgen.training import Callback


def all_states(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.float64)


def ring_data(n_samples=2000, coupling=0.6, seed=0):
    S = 2 * all_states(6) - 1
    log_p = coupling * (S * np.roll(S, 1, axis=1)).sum(1)
    log_p -= logsumexp(log_p)
    rng = np.random.default_rng(seed)
    return S[rng.choice(64, size=n_samples, p=np.exp(log_p))].astype(np.int8), S, log_p


def exact_dbn_log_prob(model):
    """log p(v) of a two-layer DBN over all visible bit vectors: the top RBM's marginal of
    its visible layer h1, pushed down through p(v | h1) = Π σ(a1 + W1 h1)."""
    (W1, a1, _), (W2, a2, b2) = [
        (layer.module_.W.detach().double().numpy(), layer.module_.visible_bias.detach()
         .double().numpy(), layer.module_.hidden_bias.detach().double().numpy())
        for layer in model.layers_]
    V, H1 = all_states(len(a1)), all_states(len(a2))
    log_top = H1 @ a2 + np.logaddexp(0, b2 + H1 @ W2).sum(1)
    log_top -= logsumexp(log_top)
    logits = a1 + H1 @ W1.T                                        # (h1, v units)
    log_down = V @ logits.T - np.logaddexp(0, logits).sum(1)[None, :]   # (v, h1)
    return logsumexp(log_down + log_top[None, :], axis=1)


def test_layers_train_one_after_the_other():
    x, *_ = ring_data(512)

    class Snapshot(Callback):
        def __init__(self):
            self.first_layer = {}

        def on_epoch_end(self, trainer):
            net = trainer.model.module_[0]
            self.first_layer[trainer.epoch] = net.W.detach().clone()

    snapshot = Snapshot()
    model = DBN(hidden_layers=(5, 3), epochs=4, batch_size=64, seed=0).fit(
        x, callbacks=[snapshot])
    assert [r["layer"] for r in model.history_] == [1, 1, 2, 2]
    # layer 1 changes during its own epochs only
    assert not torch.equal(snapshot.first_layer[1], snapshot.first_layer[2])
    assert torch.equal(snapshot.first_layer[2], snapshot.first_layer[4])
    # layer 2 was trained on layer 1's hidden probabilities: its base rates are their means
    bits = torch.as_tensor((x.reshape(len(x), -1) + 1) / 2, dtype=torch.float32)
    p = model.layers_[0]._hidden_probabilities(bits).mean(0).clamp(1e-3, 1 - 1e-3)
    np.testing.assert_allclose(model.module_[1].base_visible_bias.numpy(),
                               torch.log(p / (1 - p)).numpy(), atol=1e-5)
    assert model.transform(x).shape == (len(x), 3)
    assert {"loss", "pseudo_log_likelihood"} <= set(model.history_[-1])


def test_samples_through_the_stack_follow_the_exact_distribution():
    x, S, _ = ring_data(512)
    model = DBN(hidden_layers=(4, 3), epochs=2, batch_size=64, seed=1).fit(x)
    with torch.no_grad():        # make the network far from uniform
        for layer, scale in zip(model.layers_, (2.0, 1.5)):
            layer.module_.W.mul_(0).add_(torch.as_tensor(
                np.random.default_rng(2).normal(0, scale, tuple(layer.module_.W.shape))))
    samples = model.sample(6000, seed=3, burn_in=30)
    assert samples.shape == (6000, 6) and samples.dtype == np.int8
    bits = ((samples + 1) // 2).astype(np.int64)
    index = bits @ (2 ** np.arange(5, -1, -1))
    expected = np.exp(exact_dbn_log_prob(model)) * len(samples)
    observed = np.bincount(index, minlength=64)
    assert chisquare(observed, expected).pvalue > 1e-3


def test_a_two_layer_dbn_learns_the_ring():
    x, S, log_p = ring_data()
    model = DBN(hidden_layers=(8, 6), epochs=40, batch_size=32, learning_rate=0.02,
                seed=0).fit(x)
    bits = ((S + 1) / 2).astype(np.float64)
    log_q = exact_dbn_log_prob(model)
    order = [int(i) for i in bits @ (2 ** np.arange(5, -1, -1))]
    kl = float(np.sum(np.exp(log_p) * (log_p - log_q[order])))
    kl_uniform = float(np.sum(np.exp(log_p) * (log_p + np.log(64))))
    assert kl < 0.1 < 0.9 < kl_uniform


def test_resume_across_a_layer_boundary_is_bit_identical(tmp_path):
    class Kill(Callback):
        def on_epoch_end(self, trainer):
            if trainer.epoch == 3:
                raise KeyboardInterrupt

    x, *_ = ring_data(256)
    settings = dict(hidden_layers=(4, 3), epochs=4, batch_size=64, training="pt",
                    n_temperatures=3, n_chains=8, seed=5)
    full = DBN(**settings).fit(x)
    with pytest.raises(KeyboardInterrupt):
        DBN(**settings).fit(x, checkpoint_dir=tmp_path, callbacks=[Kill()])
    resumed = DBN(**settings).fit(x, checkpoint_dir=tmp_path, resume=True)
    for name, tensor in full.module_.state_dict().items():
        assert torch.equal(tensor, resumed.module_.state_dict()[name]), name
    np.testing.assert_array_equal(full.sample(5, seed=1), resumed.sample(5, seed=1))
    assert [r["loss"] for r in full.history_] == [r["loss"] for r in resumed.history_]


def test_gaussian_bottom_layer_and_save_load(tmp_path):
    x = pg.data.toy.gaussian_grid(400, n_per_side=2, spacing=2.0, std=0.3, seed=0)
    model = DBN(hidden_layers=(6, 4), visible="gaussian", sigma=0.5, epochs=4, seed=0).fit(x)
    samples = model.sample(50, seed=0, burn_in=10)
    assert samples.shape == (50, 2) and samples.dtype == np.float64
    model.save(tmp_path / "run")
    loaded = pg.load(tmp_path / "run")
    assert isinstance(loaded, DBN) and loaded.hidden_layers == (6, 4)
    np.testing.assert_array_equal(loaded.sample(50, seed=0, burn_in=10), samples)


def test_single_layer_dbn_is_an_rbm():
    x, *_ = ring_data(256)
    dbn = DBN(hidden_layers=(4,), epochs=2, batch_size=64, seed=0).fit(x)
    assert dbn.sample(3, seed=0).shape == (3, 6)


@pytest.mark.parametrize("settings, message", [
    (dict(hidden_layers=()), "hidden_layers"), (dict(hidden_layers=(4, 0)), "hidden_layers"),
    (dict(hidden_layers=(4, 3), epochs=3), "multiple of the number of layers"),
    (dict(training="magic"), "training"), (dict(visible="poisson"), "visible")])
def test_bad_settings(settings, message):
    x, *_ = ring_data(64)
    with pytest.raises(ValueError, match=message):
        DBN(**{"epochs": 2, **settings}).fit(x)
