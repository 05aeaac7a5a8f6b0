"""RBM against brute-force enumeration over both layers (REFERENCE.md formulas)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.special import expit, logsumexp

from physgen.models.rbm import RBM


def all_states(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.float64)


def random_rbm(n_visible, n_hidden, seed=0, scale=1.0, data="bits"):
    """A fitted RBM whose parameters are then set to random values of size ``scale``."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=(20, n_visible)).astype(np.uint8)
    if data == "spins":
        x = (2 * x.astype(np.int8) - 1)
    model = RBM(n_hidden=n_hidden, epochs=1, batch_size=10, seed=seed).fit(x)
    with torch.no_grad():
        model.module_.W.copy_(torch.as_tensor(rng.normal(0, scale, (n_visible, n_hidden))))
        model.module_.visible_bias.copy_(torch.as_tensor(rng.normal(0, scale, n_visible)))
        model.module_.hidden_bias.copy_(torch.as_tensor(rng.normal(0, scale, n_hidden)))
    W, a, b = (t.detach().double().numpy() for t in (model.module_.W, model.module_.visible_bias,
                                                     model.module_.hidden_bias))
    return model, W, a, b


def brute_log_joint(W, a, b):
    """-E(v, h) for all (v, h), shape (2**n_visible, 2**n_hidden)."""
    V, H = all_states(len(a)), all_states(len(b))
    return (V @ a)[:, None] + (H @ b)[None, :] + V @ W @ H.T


@pytest.mark.parametrize("n_visible, n_hidden", [(6, 3), (3, 6), (5, 5)])
def test_log_partition_matches_brute_force(n_visible, n_hidden):
    model, W, a, b = random_rbm(n_visible, n_hidden, scale=1.5)
    expected = logsumexp(brute_log_joint(W, a, b))
    assert model.log_partition() == pytest.approx(expected, rel=0, abs=1e-9)


def test_log_partition_needs_a_small_layer():
    model = RBM(n_hidden=21, epochs=1, batch_size=8, seed=0).fit(
        np.random.default_rng(0).integers(0, 2, (8, 21)))
    with pytest.raises(ValueError, match="at most 20"):
        model.log_partition(method="exact")


def test_free_energy_and_score_samples_match_enumeration():
    model, W, a, b = random_rbm(5, 4, scale=1.0)
    V = all_states(5)
    joint = brute_log_joint(W, a, b)
    free_energy = -logsumexp(joint, axis=1)
    np.testing.assert_allclose(model.free_energy(V.astype(np.uint8)), free_energy, atol=1e-9)
    # closed form of REFERENCE.md
    closed = -(V @ a) - np.logaddexp(0, b + V @ W).sum(1)
    np.testing.assert_allclose(model.free_energy(V.astype(np.uint8)), closed, atol=1e-9)
    log_p = model.score_samples(V.astype(np.uint8))
    np.testing.assert_allclose(log_p, -free_energy - logsumexp(joint), atol=1e-9)
    assert np.exp(log_p).sum() == pytest.approx(1.0, abs=1e-12)


def test_spins_are_mapped_to_bits():
    model, W, a, b = random_rbm(4, 3, data="spins")
    V = all_states(4)
    spins = (2 * V - 1).astype(np.int8)
    expected = -logsumexp(brute_log_joint(W, a, b), axis=1)
    np.testing.assert_allclose(model.free_energy(spins), expected, atol=1e-9)
    np.testing.assert_allclose(model.transform(spins), expit(b + V @ W), atol=1e-6)
    samples = model.sample(50, seed=0, burn_in=3)
    assert samples.dtype == np.int8 and set(np.unique(samples)) <= {-1, 1}


def test_gibbs_samples_follow_the_model():
    """Chi-square of block Gibbs samples against the exact distribution of a tiny RBM."""
    from scipy.stats import chisquare

    model, *_ = random_rbm(4, 3, scale=1.0, seed=3)
    samples = model.sample(4000, seed=1, burn_in=30)
    index = samples.astype(np.int64) @ (2 ** np.arange(3, -1, -1))
    observed = np.bincount(index, minlength=16)
    expected = np.exp(model.score_samples(all_states(4).astype(np.uint8))) * len(samples)
    assert chisquare(observed, expected).pvalue > 1e-3


def test_sample_from_given_data_and_zero_burn_in():
    model, *_ = random_rbm(4, 3)
    init = np.array([[1, 0, 1, 1], [0, 0, 0, 1]], np.uint8)
    np.testing.assert_array_equal(model.sample(2, seed=0, burn_in=0, init=init), init)
    assert model.sample(2, seed=0, burn_in=5, init=init).shape == (2, 4)
    with pytest.raises(ValueError, match="init holds"):
        model.sample(3, init=init)
    with pytest.raises(ValueError, match="burn_in"):
        model.sample(3, burn_in=-1)


@pytest.mark.parametrize("training, k", [("cd", 1), ("pcd", 5)])
def test_learns_a_ring_of_spins(training, k):
    """Exact KL to a 6-spin Ising ring (coupling 0.6) falls far below that of the uniform
    start (1.0 nats)."""
    S = 2 * all_states(6) - 1
    log_p = 0.6 * (S * np.roll(S, 1, axis=1)).sum(1)
    log_p -= logsumexp(log_p)
    rng = np.random.default_rng(0)
    x = S[rng.choice(64, size=2000, p=np.exp(log_p))].astype(np.int8)
    model = RBM(n_hidden=6, epochs=20, batch_size=32, optimizer="adam", learning_rate=0.02,
                training=training, k=k, lr_schedule="constant", seed=0).fit(x)
    kl = np.sum(np.exp(log_p) * (log_p - model.score_samples(S.astype(np.int8))))
    kl_uniform = np.sum(np.exp(log_p) * (log_p + np.log(64)))
    assert kl < 0.1 < 0.9 < kl_uniform
    hist = model.history_
    assert hist[-1]["pseudo_log_likelihood"] > hist[0]["pseudo_log_likelihood"]


def test_continuous_unit_interval_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(40, 6)).astype(np.float32)
    model = RBM(n_hidden=3, epochs=1, batch_size=10, seed=0).fit(x)
    samples = model.sample(5, seed=0, burn_in=2)
    assert model.domain_ == "continuous" and samples.dtype == np.float32
    assert np.all((samples >= 0) & (samples <= 1))
    with pytest.raises(ValueError, match="no likelihood"):
        model.score_samples(x)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        RBM(epochs=1, seed=0).fit(x * 3)


def test_pcd_chains_and_weight_decay():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(64, 6)).astype(np.uint8)
    model = RBM(n_hidden=3, epochs=2, batch_size=16, n_chains=7, training="pcd", seed=0).fit(x)
    assert model.chains_.shape == (7, 3)
    decayed = RBM(n_hidden=3, epochs=30, batch_size=16, weight_decay=1.0, seed=0,
                  learning_rate=0.1).fit(x)
    plain = RBM(n_hidden=3, epochs=30, batch_size=16, seed=0, learning_rate=0.1).fit(x)
    assert decayed.module_.W.abs().sum() < plain.module_.W.abs().sum()
    with pytest.raises(ValueError, match="training"):
        RBM(training="magic").fit(x)
    with pytest.raises(ValueError, match="n_hidden"):
        RBM(n_hidden=0).fit(x)
