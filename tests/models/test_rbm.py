"""Bernoulli RBM against brute-force enumeration over both layers (REFERENCE.md formulas):
log Z, free energy, likelihood, Gibbs and tempered sampling, AIS, the update rules, and
training on a small Ising ring."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.special import expit, logsumexp

import physgen as pg
from physgen.models.rbm import RBM
from physgen.stats import mean_estimate


def all_states(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.float64)


def random_rbm(n_visible, n_hidden, seed=0, scale=1.0, data="bits", **settings):
    """A fitted RBM whose parameters are then set to random values of size ``scale``."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=(20, n_visible)).astype(np.uint8)
    if data == "spins":
        x = (2 * x.astype(np.int8) - 1)
    model = RBM(n_hidden=n_hidden, epochs=1, batch_size=10, seed=seed, **settings).fit(x)
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


def ring_data(n_samples=2000, coupling=0.6, seed=0):
    """Samples of a 6-spin Ising ring and its exact log-probabilities over all 64 states."""
    S = 2 * all_states(6) - 1
    log_p = coupling * (S * np.roll(S, 1, axis=1)).sum(1)
    log_p -= logsumexp(log_p)
    rng = np.random.default_rng(seed)
    x = S[rng.choice(64, size=n_samples, p=np.exp(log_p))].astype(np.int8)
    return x, S.astype(np.int8), log_p


# --- exact quantities ------------------------------------------------------------------------

@pytest.mark.parametrize("n_visible, n_hidden", [(6, 3), (3, 6), (5, 5)])
def test_log_partition_matches_brute_force(n_visible, n_hidden):
    model, W, a, b = random_rbm(n_visible, n_hidden, scale=1.5)
    expected = logsumexp(brute_log_joint(W, a, b))
    assert model.log_partition() == pytest.approx(expected, rel=0, abs=1e-9)
    assert model.log_partition(method="exact") == pytest.approx(expected, rel=0, abs=1e-9)


def test_log_partition_methods_and_limits():
    model = RBM(n_hidden=21, epochs=1, batch_size=8, seed=0).fit(
        np.random.default_rng(0).integers(0, 2, (8, 21)))
    with pytest.raises(ValueError, match="at most 20"):
        model.log_partition(method="exact")
    with pytest.raises(ValueError, match="method"):
        model.log_partition(method="guess")
    with pytest.raises(ValueError, match="n_betas"):
        model.log_partition(method="ais", n_betas=3)


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


# --- sampling --------------------------------------------------------------------------------

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


def test_tempered_replicas_sample_their_exact_distributions():
    """Every replica of parallel tempering samples its own tempered distribution
    p_β(v) ∝ exp((1 - β) a0ᵀv) Σ_h exp(-β E(v, h)), enumerated exactly. The model is
    bimodal (two blocks of strongly coupled units), so that the exchanges matter. Errors
    from the spread over independent chains."""
    from physgen.samplers.tempering import parallel_tempering

    model, *_ = random_rbm(6, 4, seed=5)
    W = np.zeros((6, 4))
    W[:3, :2], W[3:, 2:] = 3.0, -3.0
    a, b = np.array([-2.5, -2.5, -2.5, 1.0, 2.0, 1.0]), np.array([-2.0, -3.0, 3.0, 2.0])
    with torch.no_grad():
        model.module_.W.copy_(torch.as_tensor(W))
        model.module_.visible_bias.copy_(torch.as_tensor(a))
        model.module_.hidden_bias.copy_(torch.as_tensor(b))
    a0 = model.module_.base_visible_bias.double().numpy()
    betas = torch.tensor([1.0, 0.6, 0.3, 0.0])
    V = all_states(6)
    n_chains, rng = 200, np.random.default_rng(0)
    states = [torch.zeros(len(betas), n_chains, 4)]
    offset, records, rates = 0, [], []
    with torch.no_grad():
        for block in range(60):
            states, accepted, proposed, offset = parallel_tempering(
                states, betas, model._tempered_sweep, model._tempered_energy, 2, rng, offset)
            if block >= 10:
                records.append(states[1].double().numpy())      # visible states (R, M, 6)
                rates.append(float(accepted.sum() / proposed.sum()))
    per_chain = np.stack(records).mean(0)                       # (R, M, 6)
    for replica, beta in enumerate(betas.tolist()):
        log_p = ((1 - beta) * a0 + beta * a) @ V.T + np.logaddexp(0, beta * (b + V @ W)).sum(1)
        mean_exact = np.exp(log_p - logsumexp(log_p)) @ V
        for unit in range(6):
            estimate = mean_estimate(per_chain[replica, :, unit])
            assert abs(estimate.z_score(mean_exact[unit])) < 4.5, (beta, unit, estimate,
                                                                   mean_exact[unit])
    assert np.mean(rates) > 0.2


def test_pt_fit_keeps_chains_per_temperature_and_logs_swap_rates():
    x, *_ = ring_data(256)
    model = RBM(n_hidden=4, epochs=2, batch_size=64, n_temperatures=5, n_chains=16,
                seed=0).fit(x)
    assert model.chains_.shape == (5, 16, 4)
    for record in model.history_:
        assert 0 < record["swap_rate_min"] <= record["swap_rate"] <= 1
        assert {"loss", "pseudo_log_likelihood", "lr"} <= set(record)


def test_pt_resume_is_bit_identical(tmp_path):
    """Parallel tempering and centring keep training state (chains of every temperature,
    hidden offsets): a resumed fit equals an uninterrupted one bit for bit."""
    from physgen.training import Callback

    class Kill(Callback):
        def on_epoch_end(self, trainer):
            if trainer.epoch == 2:
                raise KeyboardInterrupt

    x, *_ = ring_data(192)
    settings = dict(n_hidden=4, epochs=3, batch_size=64, n_temperatures=3, n_chains=8, seed=4)
    full = RBM(**settings).fit(x)
    with pytest.raises(KeyboardInterrupt):
        RBM(**settings).fit(x, checkpoint_dir=tmp_path, callbacks=[Kill()])
    resumed = RBM(**settings).fit(x, checkpoint_dir=tmp_path, resume=True)
    for name, tensor in full.module_.state_dict().items():
        assert torch.equal(tensor, resumed.module_.state_dict()[name]), name
    assert torch.equal(full.chains_, resumed.chains_)
    assert torch.equal(full._hidden_offset, resumed._hidden_offset)
    assert resumed.history_[-1]["swap_rate"] == full.history_[-1]["swap_rate"]


# --- annealed importance sampling ------------------------------------------------------------

@pytest.mark.parametrize("n_visible, n_hidden, scale", [(12, 8, 1.0), (6, 14, 0.8)])
def test_ais_agrees_with_the_exact_log_partition(n_visible, n_hidden, scale):
    model, *_ = random_rbm(n_visible, n_hidden, seed=2, scale=scale)
    exact = model.log_partition(method="exact")
    estimate = model.log_partition(method="ais", n_chains=100, n_betas=500, n_runs=10, seed=1)
    assert 0 < estimate.stderr < 0.05
    assert abs(estimate.z_score(exact)) < 4, (estimate, exact)
    result = model.annealed_importance_sampling(n_chains=50, n_betas=200, n_runs=4, seed=2)
    assert result.log_weights.shape == (4, 50)
    assert abs(result.log_z.z_score(exact)) < 4


def test_ais_on_a_trained_model_and_score_samples_beyond_enumeration():
    """A model trained on the ring: AIS agrees with enumeration; then a model with both
    layers above 20 units scores samples with the cached AIS estimate of log Z."""
    x, S, log_p = ring_data(512)
    trained = RBM(n_hidden=8, epochs=5, batch_size=64, seed=0).fit(x)
    exact = trained.log_partition()
    estimate = trained.log_partition(method="ais", n_chains=100, n_betas=500, seed=3)
    assert abs(estimate.z_score(exact)) < 4, (estimate, exact)

    big = RBM(n_hidden=21, epochs=1, batch_size=8, seed=0).fit(
        np.random.default_rng(0).integers(0, 2, (16, 21)))
    rows = np.random.default_rng(1).integers(0, 2, (3, 21))
    scores = big.score_samples(rows)                  # AIS with the default settings, cached
    log_z = big.log_partition()                       # "auto" picks AIS: the same estimate
    assert log_z.stderr > 0
    np.testing.assert_allclose(scores, -big.free_energy(rows) - log_z.mean)
    np.testing.assert_array_equal(big.score_samples(rows), scores)


def test_log_z_is_recomputed_when_the_parameters_change():
    model, *_ = random_rbm(5, 4)
    V = all_states(5).astype(np.uint8)
    assert np.exp(model.score_samples(V)).sum() == pytest.approx(1.0, abs=1e-12)
    with torch.no_grad():
        model.module_.hidden_bias.add_(0.5)
    assert np.exp(model.score_samples(V)).sum() == pytest.approx(1.0, abs=1e-12)
    model.module_.load_state_dict({k: v + 0.1 for k, v in model.module_.state_dict().items()})
    assert np.exp(model.score_samples(V)).sum() == pytest.approx(1.0, abs=1e-12)


# --- the update rules ------------------------------------------------------------------------

def test_centred_update_is_the_centred_gradient_mapped_back():
    """With plain SGD, one centred step equals: the gradient step of the centred
    parameters (a', b', W) with a' = a + Wλ, b' = b + Wᵀμ, mapped back (Melchior et al.)."""
    model, W, a, b = random_rbm(5, 3, seed=1, optimizer="sgd", learning_rate=0.1,
                                lr_schedule="constant")
    rng = np.random.default_rng(7)
    x = torch.as_tensor(rng.integers(0, 2, (8, 5)), dtype=torch.float32)
    v = torch.as_tensor(rng.integers(0, 2, (6, 5)), dtype=torch.float32)
    net = model.module_
    W0, a0, b0 = (t.detach().double().clone() for t in (net.W, net.visible_bias, net.hidden_bias))
    mu = torch.sigmoid(net.base_visible_bias).double()
    lam = model._hidden_offset.double().clone()
    with torch.no_grad():
        ph_pos = torch.sigmoid(x @ net.W + net.hidden_bias)
        ph_neg = torch.sigmoid(v @ net.W + net.hidden_bias)
        model._update(x, x, ph_pos, v, ph_neg)
    xd, vd, pp, pn = x.double(), v.double(), ph_pos.double(), ph_neg.double()
    lr = 0.1
    # centred parameters before the step, their gradient-ascent step, and the map back
    a_c, b_c = a0 + W0 @ lam, b0 + W0.T @ mu
    dW = lr * ((xd - mu).T @ (pp - lam) / 8 - (vd - mu).T @ (pn - lam) / 6)
    W1 = W0 + dW
    a1 = (a_c + lr * (xd.mean(0) - vd.mean(0))) - W1 @ lam
    b1 = (b_c + lr * (pp.mean(0) - pn.mean(0))) - W1.T @ mu
    np.testing.assert_allclose(net.W.detach().double(), W1, atol=1e-6)
    np.testing.assert_allclose(net.visible_bias.detach().double(), a1, atol=1e-6)
    np.testing.assert_allclose(net.hidden_bias.detach().double(), b1, atol=1e-6)
    # the hidden offset then moves 1 % of the way to this batch's mean p(h | data)
    np.testing.assert_allclose(model._hidden_offset.double(),
                               lam + 0.01 * (pp.mean(0) - lam), atol=1e-7)


# settings that take the in-place PCD-1 SGD step (scikit-learn's algorithm)
FUSED_SGD = dict(n_hidden=5, training="pcd", optimizer="sgd", centering=False,
                 learning_rate=0.1, weight_decay=0.01, batch_size=64)


def test_fused_sgd_step_matches_the_optimizer_path():
    """The in-place PCD-1 SGD step (scikit-learn's algorithm) gives the same fit as the
    same update through torch.optim.SGD (a vanishing momentum forces that path); they draw
    the same random numbers in the same order."""
    x, *_ = ring_data(300)
    settings = dict(FUSED_SGD, lr_schedule="cosine", epochs=3, seed=1)
    fused = RBM(**settings).fit(x)
    assert fused._sklearn_step
    general = RBM(**settings, momentum=1e-30).fit(x)
    assert not general._sklearn_step
    for name, tensor in fused.module_.state_dict().items():
        np.testing.assert_allclose(tensor.numpy(), general.module_.state_dict()[name].numpy(),
                                   atol=2e-6, err_msg=name)
    assert torch.equal(fused.chains_, general.chains_)


def test_fused_sgd_step_resumes_bit_identically_with_a_short_last_batch(tmp_path):
    """The in-place PCD-1 step keeps buffers per batch size and its chains in a buffer of
    its own; restored chains and a smaller last batch (100 = 64 + 36 rows) must not change
    the result: a resumed fit equals an uninterrupted one bit for bit."""
    from physgen.training import Callback

    class Kill(Callback):
        def on_epoch_end(self, trainer):
            if trainer.epoch == 2:
                raise KeyboardInterrupt

    x, *_ = ring_data(100)
    settings = dict(FUSED_SGD, lr_schedule="linear", epochs=4, seed=3)
    full = RBM(**settings).fit(x)
    assert full._sklearn_step
    with pytest.raises(KeyboardInterrupt):
        RBM(**settings).fit(x, checkpoint_dir=tmp_path, callbacks=[Kill()])
    resumed = RBM(**settings).fit(x, checkpoint_dir=tmp_path, resume=True)
    for name, tensor in full.module_.state_dict().items():
        assert torch.equal(tensor, resumed.module_.state_dict()[name]), name
    assert torch.equal(full.chains_, resumed.chains_)
    assert resumed.history_[-1] == {**full.history_[-1], "time": resumed.history_[-1]["time"]}


def test_monitoring_rows_change_the_history_not_the_fit():
    """n_monitor_rows=0 logs no loss or pseudo-likelihood; the parameters and chains are
    those of the monitored fit (monitoring draws from its own stream)."""
    x, *_ = ring_data(300)
    settings = dict(n_hidden=4, training="pcd", epochs=2, batch_size=64, seed=2)
    monitored = RBM(**settings).fit(x)
    quiet = RBM(**settings, n_monitor_rows=0).fit(x)
    few = RBM(**settings, n_monitor_rows=10).fit(x)
    for name, tensor in monitored.module_.state_dict().items():
        assert torch.equal(tensor, quiet.module_.state_dict()[name]), name
        assert torch.equal(tensor, few.module_.state_dict()[name]), name
    assert torch.equal(monitored.chains_, quiet.chains_)
    assert {"loss", "pseudo_log_likelihood"} <= set(monitored.history_[-1])
    assert {"loss", "pseudo_log_likelihood"} <= set(few.history_[-1])
    assert not {"loss", "pseudo_log_likelihood"} & set(quiet.history_[-1])
    with pytest.raises(ValueError, match="n_monitor_rows"):
        RBM(n_monitor_rows=-1).fit(x)


@pytest.mark.parametrize("data", ["bits", "continuous"])
def test_pseudo_log_likelihood_matches_flipping_the_unit(data):
    """The pseudo-likelihood computed from one row of W per sample equals
    N log σ(F(v with unit i flipped) - F(v)) with the flipped rows' free energy computed
    in full, in float64 (scikit-learn's definition; flipping is v_i -> 1 - v_i)."""
    model, W, a, b = random_rbm(7, 5, seed=6)
    rng = np.random.default_rng(1)
    v = rng.integers(0, 2, (50, 7)).astype(np.float64)
    if data == "continuous":
        v = rng.uniform(0, 1, (50, 7))
    units = torch.randint(7, (50,), generator=torch.Generator().manual_seed(9)).numpy()
    flipped = v.copy()
    flipped[np.arange(50), units] = 1 - flipped[np.arange(50), units]

    def free_energy(s):
        return -(s @ a) - np.logaddexp(0, s @ W + b).sum(1)

    expected = -7 * np.logaddexp(0, -(free_energy(flipped) - free_energy(v)))
    with torch.no_grad():
        got = model._pseudo_log_likelihood(torch.as_tensor(v), torch.Generator().manual_seed(9))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-10)


def test_plain_gradient_step_follows_the_reference_formula():
    """CD-1 with plain SGD and no centring: ΔW = lr (⟨v p(h|v)ᵀ⟩_data - ⟨v p(h|v)ᵀ⟩_model)."""
    model, W, a, b = random_rbm(4, 3, seed=2, optimizer="sgd", centering=False,
                                learning_rate=0.5, lr_schedule="constant")
    rng = np.random.default_rng(3)
    x = torch.as_tensor(rng.integers(0, 2, (5, 4)), dtype=torch.float32)
    v = torch.as_tensor(rng.integers(0, 2, (7, 4)), dtype=torch.float32)
    net = model.module_
    with torch.no_grad():
        ph_pos = torch.sigmoid(x @ net.W + net.hidden_bias)
        ph_neg = torch.sigmoid(v @ net.W + net.hidden_bias)
        model._update(x, x, ph_pos, v, ph_neg)
    xd, vd = x.double().numpy(), v.double().numpy()
    pp, pn = ph_pos.double().numpy(), ph_neg.double().numpy()
    np.testing.assert_allclose(net.W.detach().numpy(), W + 0.5 * (xd.T @ pp / 5 - vd.T @ pn / 7),
                               atol=1e-6)
    np.testing.assert_allclose(net.visible_bias.detach().numpy(),
                               a + 0.5 * (xd.mean(0) - vd.mean(0)), atol=1e-6)
    np.testing.assert_allclose(net.hidden_bias.detach().numpy(),
                               b + 0.5 * (pp.mean(0) - pn.mean(0)), atol=1e-6)


# --- training --------------------------------------------------------------------------------

@pytest.mark.parametrize("training, k", [("cd", 1), ("pcd", 5), ("pt", 1)])
def test_learns_a_ring_of_spins(training, k):
    """Exact KL to a 6-spin Ising ring (coupling 0.6) falls far below that of the uniform
    start (1.0 nats)."""
    x, S, log_p = ring_data()
    model = RBM(n_hidden=6, epochs=20, batch_size=32, optimizer="adam", learning_rate=0.02,
                training=training, k=k, seed=0).fit(x)
    kl = np.sum(np.exp(log_p) * (log_p - model.score_samples(S)))
    kl_uniform = np.sum(np.exp(log_p) * (log_p + np.log(64)))
    assert kl < 0.05 < 0.9 < kl_uniform
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
    assert RBM(n_hidden=3, epochs=1, batch_size=16, training="cd", seed=0).fit(x).chains_ is None
    common = dict(n_hidden=3, epochs=30, batch_size=16, seed=0, learning_rate=0.1,
                  optimizer="sgd", training="pcd")
    decayed = RBM(weight_decay=1.0, **common).fit(x)
    plain = RBM(**common).fit(x)
    assert decayed.module_.W.abs().sum() < plain.module_.W.abs().sum()


@pytest.mark.parametrize("setting, value", [
    ("training", "magic"), ("n_hidden", 0), ("visible", "poisson"), ("k", 0),
    ("n_temperatures", 0), ("n_chains", 0), ("sigma", -1.0), ("sigma", "wide"),
    ("learn_sigma", "yes"), ("centering", None), ("weight_decay", -0.1),
    ("momentum", float("nan")), ("init_std", True)])
def test_bad_settings_are_named(setting, value):
    x = np.random.default_rng(0).integers(0, 2, size=(16, 4))
    with pytest.raises(ValueError, match=setting):
        RBM(**{setting: value}, epochs=1).fit(x)


def test_dbn_family_name_points_to_the_stack():
    assert pg.models.get_family("dbn").__name__ == "DBN"
    assert pg.models.get_family("rbm") is RBM
