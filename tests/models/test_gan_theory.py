"""The GAN theory the diagnostics rest on (Goodfellow et al. 2014; Arjovsky & Bottou 2017).

Every test freezes the generator (``n_critic`` larger than the number of steps: the
generator is never updated) and makes it linear in one dimension, G(z) = w z + c, so the
generated distribution is known exactly: N(c, w²) for normal noise, U[c - |w|, c + |w|]
for uniform noise. Only the discriminator learns, so what it converges to can be compared
with the optimal discriminator D*(x) = p_r(x) / (p_r(x) + p_g(x)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from physgen.models.gan import GAN

LOG2 = math.log(2.0)
FROZEN = 10 ** 9    # n_critic: the generator step never comes


def frozen_gan(**settings):
    base = dict(latent_dim=1, generator_hidden=(), discriminator_hidden=(32, 32),
                n_critic=FROZEN, batch_size=256, learning_rate=2e-3, seed=0)
    return GAN(**{**base, **settings})


def generator_line(noise="normal"):
    """(c, |w|) of the linear generator a ``frozen_gan`` starts from (its init is a
    function of the seed only, so a second fit with the same settings has it too)."""
    model = frozen_gan(noise=noise, epochs=1).fit(np.zeros((256, 1)))
    linear = model.module_["generator"].body[0]
    return linear.bias.item(), abs(linear.weight.item())


def test_generator_is_frozen_and_linear():
    c, w = generator_line()
    model = frozen_gan(epochs=2).fit(np.random.default_rng(0).normal(size=(512, 1)))
    linear = model.module_["generator"].body[0]
    assert (linear.bias.item(), abs(linear.weight.item())) == (c, w)
    samples = model.sample(20_000, seed=0)[:, 0]
    assert stats.kstest(samples, stats.norm(c, w).cdf).pvalue > 0.01


def test_generator_equal_to_data_drives_d_to_one_half_and_js_to_zero():
    c, w = generator_line()
    x = np.random.default_rng(1).normal(c, w, size=(8192, 1))
    model = frozen_gan(epochs=6).fit(x)
    last = model.history_[-1]
    assert abs(last["d_real"] - 0.5) < 0.02 and abs(last["d_fake"] - 0.5) < 0.02
    assert last["js_estimate"] < 0.01
    # the game's value at D = 1/2: summed BCE 2 log 2, non-saturating generator loss log 2
    assert last["d_loss"] == pytest.approx(2 * LOG2, abs=0.02)
    assert last["g_loss"] == pytest.approx(LOG2, abs=0.02)
    grid = c + w * np.linspace(-2.5, 2.5, 21)[:, None]
    assert np.abs(model.discriminate(grid) - 0.5).max() < 0.05


def test_trained_discriminator_is_optimal_and_js_estimate_is_the_divergence():
    """N(c + 2w, w²) against N(c, w²): D* = σ(2 (x - c)/w - 2) and JS = 0.3368 nats."""
    c, w = generator_line()
    shift = 2.0
    x = np.random.default_rng(2).normal(c + shift * w, w, size=(16384, 1))
    model = frozen_gan(epochs=6).fit(x)
    p_r, p_g = stats.norm(c + shift * w, w).pdf, stats.norm(c, w).pdf

    def integrand(t):
        m = (p_r(t) + p_g(t)) / 2
        return 0.5 * (p_r(t) * np.log(p_r(t) / m) + p_g(t) * np.log(p_g(t) / m))

    js = integrate.quad(integrand, c - 12 * w, c + 14 * w)[0]
    assert js == pytest.approx(0.3368, abs=1e-4)
    # a lower bound, tight at the optimum: close from below (up to sampling noise)
    assert abs(model.history_[-1]["js_estimate"] - js) < 0.02
    grid = c + w * np.linspace(-1.5, 3.5, 26)[:, None]
    optimal = p_r(grid[:, 0]) / (p_r(grid[:, 0]) + p_g(grid[:, 0]))
    assert np.abs(model.discriminate(grid) - optimal).max() < 0.05


def test_disjoint_supports_saturate_the_minimax_generator_loss():
    """p_g = U[c - w, c + w] and p_r = U[c + 2w, c + 3w] do not overlap: the optimal D is 1
    on the data and 0 on the samples, JS = log 2, and the minimax generator gradient
    ∝ D(G(z)) vanishes while the non-saturating one does not (Arjovsky & Bottou 2017)."""
    c, w = generator_line("uniform")
    x = np.random.default_rng(3).uniform(c + 2 * w, c + 3 * w, size=(4096, 1))
    norms, ratios = [], []
    for epochs in (4, 16):
        model = frozen_gan(noise="uniform", epochs=epochs).fit(x)
        norms.append({loss: model.generator_gradient_norm(loss, n_samples=1024, seed=0)
                      for loss in ("minimax", "non-saturating")})
        ratios.append(norms[-1]["minimax"] / norms[-1]["non-saturating"])
    last = model.history_[-1]
    assert last["d_fake"] < 0.02 and last["d_real"] > 0.98
    assert last["js_estimate"] > 0.95 * LOG2
    # as D becomes optimal the minimax gradient dies while the non-saturating one grows
    assert norms[1]["minimax"] < 0.5 * norms[0]["minimax"]
    assert norms[1]["non-saturating"] > norms[0]["non-saturating"]
    assert ratios[1] < 0.05 and ratios[1] < ratios[0] / 5


def test_one_sided_label_smoothing_caps_d_on_the_data():
    """With real targets 1 - s the optimal discriminator is (1 - s) p_r / (p_r + p_g)
    (Salimans et al. 2016): 1 - s on the data when the supports are disjoint, while
    js_estimate still reads the plain cross-entropy, log 2 + log(1 - s) / 2 there."""
    c, w = generator_line("uniform")
    x = np.random.default_rng(5).uniform(c + 2 * w, c + 3 * w, size=(4096, 1))
    model = frozen_gan(noise="uniform", label_smoothing=0.2, epochs=16).fit(x)
    last = model.history_[-1]
    assert last["d_real"] == pytest.approx(0.8, abs=0.03)
    assert model.discriminate(x[:2000]).mean() == pytest.approx(0.8, abs=0.02)
    assert last["d_fake"] < 0.02
    # (the smoothed loss would give log 2 - (H(0.8) + ...) / 2 < 0.44; the spread of D
    # around 0.8 and D(G(z)) > 0 lower the plain-BCE bound slightly below 0.58)
    assert last["js_estimate"] == pytest.approx(LOG2 + math.log(0.8) / 2, abs=0.04)


def test_stop_rule_ends_training_at_the_equilibrium():
    c, w = generator_line()
    x = np.random.default_rng(4).normal(c, w, size=(4096, 1))
    model = frozen_gan(epochs=50, stop_tolerance=0.03, stop_patience=3).fit(x)
    assert len(model.history_) < 50
    for record in model.history_[-3:]:
        assert abs(record["d_real"] - 0.5) <= 0.03 and abs(record["d_fake"] - 0.5) <= 0.03


def test_rejection_sampling_with_the_optimal_discriminator_recovers_the_data():
    """Discriminator rejection sampling (Azadi et al. 2019): with D ≈ D*, keeping a
    generated x with probability ∝ D / (1 - D) = p_r / p_g turns p_g = N(c, w²) into
    p_r = N(c + w/2, w²) (the ratio exp((x - c)/(2w) - 1/8) stays moderate over the
    samples); the plain samples stay at p_g."""
    c, w = generator_line()
    x = np.random.default_rng(2).normal(c + 0.5 * w, w, size=(16384, 1))
    model = frozen_gan(epochs=6).fit(x)
    plain = model.sample(4000, seed=1)[:, 0]
    kept = model.sample(4000, seed=1, rejection=True)[:, 0]
    # standard errors: 0.016 w for the means, 0.011 w for the standard deviations
    assert abs(plain.mean() - c) < 0.06 * w
    assert abs(kept.mean() - (c + 0.5 * w)) < 0.08 * w
    assert abs(kept.std() - w) < 0.06 * w
    assert stats.kstest(kept, stats.norm(c + 0.5 * w, w).cdf).pvalue > 0.001
    np.testing.assert_array_equal(kept, model.sample(4000, seed=1, rejection=True)[:, 0])
    with pytest.raises(ValueError, match="WGAN-GP"):
        frozen_gan(loss="wasserstein-gp", epochs=1).fit(x[:512]).sample(10, rejection=True)
