"""BoltzmannMachine (fully visible, maximum entropy) and its heat-bath sampler.

Oracles: enumeration of every state (exact moments, log Z, conditionals), the exact Ising
distributions of physgen.ising.exact, SciPy's L-BFGS on the exact log-likelihood, and the
Fisher information of the true model (asymptotic standard errors of the maximum-likelihood
estimate) for the statistical recovery tests.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import scipy.optimize
import scipy.special
import scipy.stats
import torch

import physgen as pg
from physgen.cli.main import main
from physgen.errors import PhysgenError
from physgen.models.boltzmann import BoltzmannMachine, exact_statistics
from physgen.samplers.visible_gibbs import heat_bath


# --- helpers ---------------------------------------------------------------------------------

def torus_couplings(L: int, value: float) -> np.ndarray:
    """J (L², L²) of the L×L torus: ``value`` for nearest neighbours (row-major), else 0."""
    J = np.zeros((L * L, L * L))
    for r, c in itertools.product(range(L), range(L)):
        for nr, nc in ((r, (c + 1) % L), ((r + 1) % L, c)):
            J[r * L + c, nr * L + nc] = J[nr * L + nc, r * L + c] = value
    return J


def exact_ising_samples(L, temperature, n_samples, seed, h=0.0):
    ex = pg.ising.exact(L, temperature, h=h)
    rng = np.random.default_rng(seed)
    return ex.states[rng.choice(len(ex.states), size=n_samples, p=np.exp(ex.log_prob))].copy()


def all_states(n: int) -> np.ndarray:
    return np.array(list(itertools.product([-1.0, 1.0], repeat=n)))


def features(states: np.ndarray) -> np.ndarray:
    """(s_i, s_i s_j for i < j) per row: the sufficient statistics, parameter order θ =
    (fields, couplings[triu_indices(N, 1)])."""
    rows, cols = np.triu_indices(states.shape[1], 1)
    return np.concatenate([states, states[:, rows] * states[:, cols]], axis=1)


def theta_of(model) -> np.ndarray:
    rows, cols = np.triu_indices(model.n_features_, 1)
    return np.concatenate([model.fields_, model.couplings_[rows, cols]])


def mle_standard_errors(theta_true: np.ndarray, n_spins: int, n_samples: int) -> np.ndarray:
    """Asymptotic standard errors of the MLE: sqrt(diag(F⁻¹) / n), F = Cov(features)."""
    f = features(all_states(n_spins))
    logits = f @ theta_true
    p = np.exp(logits - scipy.special.logsumexp(logits))
    mean = p @ f
    fisher = (f * p[:, None]).T @ f - np.outer(mean, mean)
    return np.sqrt(np.diag(np.linalg.inv(fisher)) / n_samples)


def set_parameters(model, fields: np.ndarray, couplings: np.ndarray) -> None:
    rows, cols = np.triu_indices(len(fields), 1)
    with torch.no_grad():
        model.module_.fields.copy_(torch.as_tensor(fields))
        model.module_.couplings.copy_(torch.as_tensor(couplings[rows, cols]))


def random_model(n, seed, scale_h=0.4, scale_j=0.5):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0.0, scale_j, (n, n)), 1)
    return rng.normal(0.0, scale_h, n), J + J.T


def exact_log_prob(states, fields, couplings):
    logits = states @ fields + 0.5 * np.einsum("ki,ij,kj->k", states, couplings, states)
    return logits - scipy.special.logsumexp(logits)


def state_index(spins: np.ndarray) -> np.ndarray:
    """Row of ``all_states`` for each ±1 configuration (first spin most significant)."""
    bits = (np.asarray(spins).reshape(len(spins), -1) > 0).astype(np.int64)
    return bits @ (1 << np.arange(bits.shape[1] - 1, -1, -1))


def chi_square_p_value(counts: np.ndarray, expected: np.ndarray) -> float:
    keep = expected > 5   # pool the rare cells so the chi-square approximation holds
    observed = np.append(counts[keep], counts[~keep].sum())
    expect = np.append(expected[keep], expected[~keep].sum())
    if expect[-1] == 0:
        observed, expect = observed[:-1], expect[:-1]
    return float(scipy.stats.chisquare(observed, expect).pvalue)


def fitted_tiny(X=None, **settings):
    """A quickly fitted model, to have a module to set parameters on."""
    if X is None:
        X = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), size=(32, 4, 4))
    base = dict(n_chains=8, epochs=1, batch_size=32, seed=0)
    base.update(settings)
    return BoltzmannMachine(**base).fit(X)


# --- the heat-bath sampler -----------------------------------------------------------------

@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_heat_bath_samples_the_exact_distribution(backend):
    n = 5
    fields, couplings = random_model(n, seed=3)
    spins = torch.ones((10_000, n), dtype=torch.int8)
    heat_bath(spins, torch.as_tensor(fields), torch.as_tensor(couplings), 200,
              np.random.default_rng(1), backend=backend)
    states = all_states(n)
    expected = np.exp(exact_log_prob(states, fields, couplings)) * len(spins)
    counts = np.bincount(state_index(spins.numpy()), minlength=len(states))
    assert chi_square_p_value(counts, expected) > 1e-3


def test_heat_bath_global_flip_balances_an_ordered_model():
    # an all-to-all ferromagnet far below its ordering temperature, no field: p(m > 0) = 1/2,
    # but single-site moves alone never leave the sector the chains start in
    n, n_chains = 7, 2000
    fields, couplings = np.zeros(n), np.ones((n, n)) - np.eye(n)
    positive = {}
    for global_flip in (True, False):
        spins = torch.ones((n_chains, n), dtype=torch.int8)
        heat_bath(spins, torch.as_tensor(fields), torch.as_tensor(couplings), 50,
                  np.random.default_rng(2), global_flip=global_flip)
        positive[global_flip] = int((spins.numpy().sum(1) > 0).sum())
    z = (positive[True] - n_chains / 2) / np.sqrt(n_chains / 4)
    assert abs(z) < 4
    assert positive[False] == n_chains


def test_heat_bath_global_flip_keeps_a_field_biased_distribution():
    n = 4
    fields, couplings = np.full(n, 0.3), 1.2 * (np.ones((n, n)) - np.eye(n))
    states = all_states(n)
    expected = np.exp(exact_log_prob(states, fields, couplings)) * 20_000
    spins = torch.ones((20_000, n), dtype=torch.int8)
    heat_bath(spins, torch.as_tensor(fields), torch.as_tensor(couplings), 100,
              np.random.default_rng(4))
    counts = np.bincount(state_index(spins.numpy()), minlength=len(states))
    assert chi_square_p_value(counts, expected) > 1e-3


def test_heat_bath_is_reproducible_and_checks_its_input():
    fields, couplings = (torch.as_tensor(a) for a in random_model(6, seed=0))
    runs = []
    for generator in (np.random.default_rng(5), np.random.default_rng(5),
                      torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)):
        spins = torch.ones((50, 6), dtype=torch.int8)
        runs.append(heat_bath(spins, fields, couplings, 3, generator).clone())
    assert torch.equal(runs[0], runs[1]) and torch.equal(runs[2], runs[3])
    with pytest.raises(ValueError, match="shape"):
        heat_bath(torch.ones((4, 5), dtype=torch.int8), fields, couplings, 1,
                  np.random.default_rng(0))
    with pytest.raises(ValueError, match="int8"):
        heat_bath(torch.ones((4, 6)), fields, couplings, 1, np.random.default_rng(0),
                  backend="numba")
    with pytest.raises(ValueError, match="backend"):
        heat_bath(torch.ones((4, 6), dtype=torch.int8), fields, couplings, 1,
                  np.random.default_rng(0), backend="cuda")


# --- exact statistics and the maximum-likelihood solution ----------------------------------

def test_exact_statistics_are_the_gradient_of_log_z():
    model = fitted_tiny(np.ones((8, 5), np.int8) * np.array([1, -1, 1, 1, -1], np.int8))
    fields, couplings = random_model(5, seed=1)
    set_parameters(model, fields, couplings)
    log_z, mean, second = exact_statistics(model.module_)
    # oracle: brute force over itertools.product, differentiated by autograd
    h = torch.tensor(fields, requires_grad=True)
    J = torch.tensor(np.triu(couplings, 1), requires_grad=True)
    s = torch.as_tensor(all_states(5))
    brute = torch.logsumexp(s @ h + ((s @ J) * s).sum(1), 0)
    brute.backward()
    assert float(log_z.detach()) == pytest.approx(float(brute.detach()), abs=1e-5)
    np.testing.assert_allclose(mean.detach().numpy(), h.grad.numpy(), atol=1e-5)
    rows, cols = np.triu_indices(5, 1)
    np.testing.assert_allclose(second.detach().numpy()[rows, cols],
                               J.grad.numpy()[rows, cols], atol=1e-5)
    np.testing.assert_allclose(np.diag(second.detach().numpy()), 1.0, atol=1e-12)
    assert model.log_partition() == pytest.approx(float(brute.detach()), abs=1e-5)


@pytest.fixture(scope="module")
def six_spin_problem():
    """2000 samples of a random 6-spin model and its maximum-likelihood parameters."""
    n = 6
    fields, couplings = random_model(n, seed=1, scale_h=0.3, scale_j=0.4)
    states = all_states(n)
    rng = np.random.default_rng(1)
    p = np.exp(exact_log_prob(states, fields, couplings))
    X = states[rng.choice(len(states), size=2000, p=p)].astype(np.int8)
    f = features(states)
    data_moments = features(X.astype(np.float64)).mean(0)

    def negative_log_likelihood(theta):
        logits = f @ theta
        log_z = scipy.special.logsumexp(logits)
        return log_z - data_moments @ theta, np.exp(logits - log_z) @ f - data_moments

    result = scipy.optimize.minimize(negative_log_likelihood, np.zeros(f.shape[1]), jac=True,
                                     method="L-BFGS-B",
                                     options=dict(gtol=1e-12, ftol=1e-15, maxiter=5000))
    return X, result.x, -result.fun


def test_exact_negative_phase_converges_to_the_maximum_likelihood_solution(six_spin_problem):
    X, theta_mle, log_likelihood = six_spin_problem
    model = BoltzmannMachine(negative_phase="exact", batch_size=len(X), epochs=500,
                             optimizer="sgd", learning_rate=0.5, lr_schedule="constant",
                             seed=0).fit(X)
    np.testing.assert_allclose(theta_of(model), theta_mle, atol=1e-5)
    assert model.history_[-1]["moment_error"] < 1e-5
    assert model.history_[-1]["log_likelihood"] == pytest.approx(log_likelihood, abs=1e-6)
    assert model.score_samples(X).mean() == pytest.approx(log_likelihood, abs=1e-6)


@pytest.mark.parametrize("penalty", [dict(l2=0.05), dict(l1=0.05)])
def test_regularised_optimum_satisfies_its_optimality_conditions(six_spin_problem, penalty):
    X, _, _ = six_spin_problem
    model = BoltzmannMachine(negative_phase="exact", batch_size=len(X), epochs=400,
                             optimizer="sgd", learning_rate=0.5, lr_schedule="linear",
                             seed=0, **penalty).fit(X)
    with torch.no_grad():
        _, mean, second = exact_statistics(model.module_)
    rows, cols = np.triu_indices(6, 1)
    data = features(X.astype(np.float64)).mean(0)
    # fields are not penalised: their moments match
    np.testing.assert_allclose(mean.numpy(), data[:6], atol=1e-3)
    residual = data[6:] - second.numpy()[rows, cols]   # ∂(mean log-likelihood)/∂J
    J = model.couplings_[rows, cols]
    if "l2" in penalty:
        np.testing.assert_allclose(residual, 2 * penalty["l2"] * J, atol=1e-4)
    else:   # subgradient: = l1 sign(J) where J ≠ 0, within [-l1, l1] where J = 0
        zero = np.abs(J) < 1e-3
        assert zero.sum() >= 1   # L1 does switch some couplings off here
        np.testing.assert_allclose(residual[~zero], penalty["l1"] * np.sign(J[~zero]),
                                   atol=1e-3)
        assert np.all(np.abs(residual[zero]) <= penalty["l1"] + 1e-3)


# --- recovering Ising couplings (the inverse Ising problem) --------------------------------

@pytest.fixture(scope="module")
def ising_4x4_t3():
    temperature, n_samples = 3.0, 50_000
    X = exact_ising_samples(4, temperature, n_samples, seed=0)
    J = torus_couplings(4, 1.0 / temperature)
    rows, cols = np.triu_indices(16, 1)
    theta = np.concatenate([np.zeros(16), J[rows, cols]])
    return X, J, theta, mle_standard_errors(theta, 16, n_samples)


def check_recovery(model, J_true, h_true, theta_true, stderr, max_z=5.0):
    error = np.abs(model.couplings_ - J_true).max()
    z = (theta_of(model) - theta_true) / stderr
    print(f"\nmax |couplings_ - J/T| = {error:.4f}, max |fields_ - h/T| = "
          f"{np.abs(model.fields_ - h_true).max():.4f}, max |z| = {np.abs(z).max():.2f}")
    assert np.abs(z).max() < max_z
    return error


def test_moment_matching_recovers_4x4_ising_couplings(ising_4x4_t3):
    """The issue's target: J/T on nearest neighbours and 0 elsewhere within 0.05."""
    X, J, theta, stderr = ising_4x4_t3
    model = BoltzmannMachine(seed=0).fit(X)
    assert check_recovery(model, J, 0.0, theta, stderr) <= 0.05
    assert np.all(np.diag(model.couplings_) == 0)
    np.testing.assert_array_equal(model.couplings_, model.couplings_.T)
    # the fitted distribution, by enumeration: KL(p_exact || p_model) ≈ (#params) / (2 n)
    ex = pg.ising.exact(4, 3.0)
    kl = float(np.exp(ex.log_prob) @ (ex.log_prob - model.score_samples(ex.states)))
    assert 0 <= kl < 0.005


def test_pseudo_likelihood_recovers_4x4_ising_couplings(ising_4x4_t3):
    X, J, theta, stderr = ising_4x4_t3
    model = BoltzmannMachine(training="pseudo_likelihood", seed=0).fit(X)
    assert model.chains_ is None and "loss" in model.history_[-1]
    # pseudo-likelihood is consistent but less efficient than maximum likelihood
    assert check_recovery(model, J, 0.0, theta, stderr, max_z=6.0) <= 0.05


@pytest.mark.parametrize("training", ["moments", "pseudo_likelihood"])
def test_fields_recover_h_over_t(training):
    L, temperature, h, n_samples = 3, 2.5, 0.25, 20_000
    X = exact_ising_samples(L, temperature, n_samples, seed=1, h=h)
    J = torus_couplings(L, 1.0 / temperature)
    rows, cols = np.triu_indices(L * L, 1)
    theta = np.concatenate([np.full(L * L, h / temperature), J[rows, cols]])
    stderr = mle_standard_errors(theta, L * L, n_samples)
    model = BoltzmannMachine(training=training, seed=2).fit(X)
    check_recovery(model, J, h / temperature, theta, stderr,
                   max_z=5.0 if training == "moments" else 6.0)
    assert np.abs(model.fields_ - h / temperature).max() < 0.05


# --- likelihood, sampling, data domains ---------------------------------------------------

@pytest.fixture(scope="module")
def true_ising_machine():
    """A BoltzmannMachine holding the exact 4×4 Ising model at T = 3."""
    model = fitted_tiny()
    set_parameters(model, np.zeros(16), torus_couplings(4, 1 / 3.0))
    return model


def test_score_samples_is_the_exact_ising_log_probability(true_ising_machine):
    ex = pg.ising.exact(4, 3.0)
    np.testing.assert_allclose(true_ising_machine.score_samples(ex.states), ex.log_prob,
                               atol=2e-5)
    assert true_ising_machine.log_partition() == pytest.approx(ex.log_z, abs=2e-5)
    np.testing.assert_allclose(true_ising_machine.energy(ex.states[::997]),
                               ex.energy[::997] / 3.0, atol=2e-5)


def test_samples_follow_the_exact_energy_distribution(true_ising_machine):
    ex = pg.ising.exact(4, 3.0)
    samples = true_ising_machine.sample(10_000, seed=3, burn_in=100)
    assert samples.shape == (10_000, 4, 4) and samples.dtype == np.int8
    levels, inverse = np.unique(ex.energy, return_inverse=True)
    expected = np.bincount(inverse, weights=np.exp(ex.log_prob)) * len(samples)
    counts = np.bincount(inverse[ex.index(samples)], minlength=len(levels))
    assert chi_square_p_value(counts, expected) > 1e-3


def test_pseudo_log_likelihood_is_the_sum_of_exact_conditionals():
    model = fitted_tiny(np.ones((8, 5), np.int8) * np.array([1, -1, 1, 1, -1], np.int8))
    fields, couplings = random_model(5, seed=7)
    set_parameters(model, fields, couplings)
    states = all_states(5)
    log_p = exact_log_prob(states, fields, couplings)
    expected = np.zeros(len(states))
    for i in range(5):
        flipped = states.copy()
        flipped[:, i] *= -1
        expected += log_p - np.logaddexp(log_p, log_p[state_index(flipped)])
    np.testing.assert_allclose(model.pseudo_log_likelihood(states.astype(np.int8)), expected,
                               atol=1e-5)


def test_bits_are_modelled_as_spins():
    spins = exact_ising_samples(3, 2.5, 500, seed=0)
    bits = ((spins + 1) // 2).astype(np.uint8)
    a = BoltzmannMachine(n_chains=64, epochs=2, seed=4).fit(spins)
    b = BoltzmannMachine(n_chains=64, epochs=2, seed=4).fit(bits)
    np.testing.assert_array_equal(a.couplings_, b.couplings_)
    np.testing.assert_array_equal(a.fields_, b.fields_)
    np.testing.assert_array_equal((a.sample(20, seed=1) + 1) // 2, b.sample(20, seed=1))
    np.testing.assert_array_equal(a.score_samples(spins[:9]), b.score_samples(bits[:9]))
    assert b.domain_ == "bits" and b.sample(3, seed=0).dtype == np.uint8


def test_sample_from_init_and_burn_in():
    model = fitted_tiny()
    init = np.random.default_rng(1).choice(np.array([-1, 1], np.int8), size=(6, 4, 4))
    np.testing.assert_array_equal(model.sample(6, seed=0, burn_in=0, init=init), init)
    assert not np.array_equal(model.sample(6, seed=0, burn_in=3, init=init), init)
    with pytest.raises(ValueError, match="init holds 6"):
        model.sample(5, init=init)
    with pytest.raises(ValueError, match="burn_in"):
        model.sample(5, burn_in=-1)


def test_resume_is_bit_identical(tmp_path):
    from physgen.training import Callback

    class Kill(Callback):
        def on_epoch_end(self, trainer):
            if trainer.epoch == 2:
                raise KeyboardInterrupt

    X = exact_ising_samples(3, 2.5, 200, seed=0)
    settings = dict(n_chains=50, epochs=3, batch_size=32, k=2, seed=9)
    full = BoltzmannMachine(**settings).fit(X)
    with pytest.raises(KeyboardInterrupt):
        BoltzmannMachine(**settings).fit(X, checkpoint_dir=tmp_path, callbacks=[Kill()])
    resumed = BoltzmannMachine(**settings).fit(X, checkpoint_dir=tmp_path, resume=True)
    assert torch.equal(full.chains_, resumed.chains_)
    np.testing.assert_array_equal(full.couplings_, resumed.couplings_)
    np.testing.assert_array_equal(full.fields_, resumed.fields_)
    assert full.history_[-1]["moment_error"] == resumed.history_[-1]["moment_error"]


# --- refusals ----------------------------------------------------------------------------

@pytest.mark.parametrize("setting, message", [
    (dict(training="cd"), "training must be one of"),
    (dict(negative_phase="ais"), "negative_phase must be one of"),
    (dict(n_chains=0), "n_chains must be a positive integer"),
    (dict(k=1.5), "k must be a positive integer"),
    (dict(l1=-0.1), "l1 must be a finite number >= 0"),
    (dict(l2=float("nan")), "l2 must be a finite number >= 0"),
])
def test_bad_settings(setting, message):
    X = np.ones((4, 3), np.int8)
    with pytest.raises(ValueError, match=message):
        BoltzmannMachine(**setting).fit(X)


def test_refusals_that_depend_on_the_data():
    with pytest.raises(ValueError, match="spins or 0/1 bits; got continuous"):
        BoltzmannMachine().fit(np.random.default_rng(0).normal(size=(10, 4)))
    big = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), size=(16, 5, 5))
    with pytest.raises(ValueError, match="negative_phase='exact'.*N <= 20"):
        BoltzmannMachine(negative_phase="exact").fit(big)
    model = BoltzmannMachine(n_chains=8, epochs=1, batch_size=16, seed=0).fit(big)
    assert model.couplings_.shape == (25, 25) and "log_likelihood" not in model.history_[0]
    with pytest.raises(ValueError, match="pseudo_log_likelihood"):
        model.score_samples(big)
    assert model.pseudo_log_likelihood(big).shape == (16,)
    with pytest.raises(AttributeError):
        BoltzmannMachine().couplings_
    with pytest.raises(PhysgenError, match="not fitted"):
        BoltzmannMachine().log_partition()


# --- command line --------------------------------------------------------------------------

def test_cli_train_and_sample(tmp_path):
    data = tmp_path / "ising.npz"
    pg.data.save(data, exact_ising_samples(3, 2.5, 300, seed=0))
    run = tmp_path / "runs" / "bm"
    assert main(["train", "bm", "--data", str(data), "--out", str(run), "--set", "epochs=2",
                 "--set", "n_chains=64", "--set", "seed=1"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["class"] == "BoltzmannMachine" and config["settings"]["n_chains"] == 64
    out = tmp_path / "generated.npz"
    assert main(["sample", str(run), "--n-samples", "5", "--out", str(out), "--seed", "2",
                 "--steps", "7"]) == 0
    np.testing.assert_array_equal(pg.data.load(out).x,
                                  pg.load(run).sample(5, seed=2, burn_in=7))


# --- slow: harder temperatures -------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("temperature", [2.269, 2.0])
@pytest.mark.parametrize("training", ["moments", "pseudo_likelihood"])
def test_recovery_near_and_below_the_critical_temperature(temperature, training):
    n_samples = 50_000
    X = exact_ising_samples(4, temperature, n_samples, seed=0)
    J = torus_couplings(4, 1.0 / temperature)
    rows, cols = np.triu_indices(16, 1)
    theta = np.concatenate([np.zeros(16), J[rows, cols]])
    stderr = mle_standard_errors(theta, 16, n_samples)
    model = BoltzmannMachine(training=training, seed=0).fit(X)
    check_recovery(model, J, 0.0, theta, stderr,
                   max_z=5.0 if training == "moments" else 8.0)


@pytest.mark.slow
@pytest.mark.parametrize("training", ["moments", "pseudo_likelihood"])
def test_recovery_on_an_8x8_lattice_beyond_enumeration(training):
    """64 spins, 2016 pairs, Monte Carlo training data: no enumeration anywhere."""
    L, temperature = 8, 3.0
    X = pg.ising.sample(L, temperature, 50_000, seed=0)
    model = BoltzmannMachine(training=training, seed=0).fit(X)
    error = np.abs(model.couplings_ - torus_couplings(L, 1.0 / temperature)).max()
    print(f"\n8x8: max |couplings_ - J/T| = {error:.4f}, "
          f"max |fields_| = {np.abs(model.fields_).max():.4f}")
    assert error <= 0.05 and np.abs(model.fields_).max() <= 0.05
