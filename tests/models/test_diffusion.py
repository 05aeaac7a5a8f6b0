"""Diffusion: settings, the spin relaxation and sign read-out, EMA, DDIM determinism,
resuming, and sample quality (8-Gaussian ring, exact 4×4 Ising, L = 16 Ising)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import physgen as pg
from physgen.models.diffusion import Diffusion, sinusoidal_embedding
from physgen.models.nets import WarmupEMA, ema_with_warmup
from physgen.training import Callback, latest_checkpoint


def tiny(**settings):
    base = dict(n_timesteps=50, channels=4, n_blocks=1, hidden=(16,), fourier_features=2,
                time_embedding_dim=8, epochs=2, batch_size=16, seed=0)
    base.update(settings)
    return Diffusion(**base)


@pytest.fixture(scope="module")
def spins():
    rng = np.random.default_rng(0)
    return rng.choice(np.array([-1, 1], np.int8), size=(48, 4, 4))


class PointMass(nn.Module):
    """The exact ε̂ for data concentrated at ``target`` (internal, standardised units):
    ε = (x_t - sqrt(ᾱ_t) target) / sqrt(1 - ᾱ_t)."""

    def __init__(self, schedule, target):
        super().__init__()
        self.abar = schedule.alphas_cumprod.float()
        self.target = torch.as_tensor(target, dtype=torch.float32).reshape(1, -1)

    def forward(self, x, t):
        a = self.abar[t][:, None]
        return (x - a.sqrt() * self.target) / (1 - a).sqrt()


def with_exact_denoiser(model, target):
    model.module_.ema.module = PointMass(model.schedule_, target)
    return model


# --- settings and input checks -----------------------------------------------------------

@pytest.mark.parametrize("setting, value, message", [
    ("schedule", "quadratic", "schedule must be one of linear, cosine"),
    ("denoiser", "unet", "denoiser must be one of auto, mlp, conv"),
    ("ema_decay", 1.0, r"ema_decay must be a number in \[0, 1\)"),
    ("time_embedding_dim", 7, "time_embedding_dim must be even"),
    ("hidden", (16, 0), "hidden must be a sequence of positive integers"),
    ("fourier_features", -1, "fourier_features must be an integer >= 0"),
    ("n_timesteps", 0, "n_timesteps must be a positive integer"),
    ("sample_steps", 51, r"sample_steps must be None or an integer in \[1, n_timesteps=50\]"),
    ("beta_end", 2.0, "beta_start <= beta_end < 1"),
    ("output", "x0", "output must be one of auto, epsilon, spin-field"),
])
def test_bad_settings_are_named(spins, setting, value, message):
    with pytest.raises(ValueError, match=message):
        tiny(**{setting: value}).fit(spins)


def test_conv_denoiser_needs_lattices():
    x = np.random.default_rng(0).normal(size=(32, 3))
    with pytest.raises(ValueError, match="denoiser='conv' needs 2-D samples"):
        tiny(denoiser="conv").fit(x)
    assert tiny().fit(x).module_.denoiser.__class__.__name__ == "MLPDenoiser"
    with pytest.raises(ValueError, match="output='spin-field' needs spins or bits"):
        tiny(output="spin-field").fit(x)


def test_bad_sample_options(spins):
    model = tiny().fit(spins)
    with pytest.raises(ValueError, match=r"steps must be None or an integer in \[1, "):
        model.sample(2, steps=0)
    with pytest.raises(ValueError, match="method must be one of ddpm, ddim"):
        model.sample(2, method="euler")
    with pytest.raises(ValueError, match="eta applies to method='ddim' only"):
        model.sample(2, eta=0.5)
    with pytest.raises(ValueError, match=r"initial_noise must be a finite array of shape "
                                         r"\(2, 4, 4\)"):
        model.sample(2, initial_noise=np.zeros((2, 16)))


def test_sinusoidal_embedding():
    t = torch.tensor([0, 1, 999])
    emb = sinusoidal_embedding(t, 8)
    assert emb.shape == (3, 8)
    np.testing.assert_allclose(emb[0].numpy(), [0, 0, 0, 0, 1, 1, 1, 1])
    frequencies = 10_000.0 ** (-np.arange(4) / 4)
    np.testing.assert_allclose(emb[2, :4].numpy(), np.sin(999 * frequencies), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(emb[2, 4:].numpy(), np.cos(999 * frequencies), rtol=1e-4,
                               atol=1e-5)


# --- data handling: spins relaxed inside, signs out ---------------------------------------

def test_spins_are_the_continuous_data_and_signs_come_out(spins):
    """Inside, spins are the real numbers ±1; with the exact ε̂ of a point mass at one
    configuration both samplers land on it, and an interior point is read out by sign.
    (``output="epsilon"``: the network's output is ε̂ itself, as PointMass gives it.)"""
    model = tiny(output="epsilon").fit(spins)
    internal = model._to_internal(spins[:2])
    assert set(torch.unique(internal).tolist()) == {-1.0, 1.0}
    target = spins[5].reshape(-1).astype(np.float32)
    with_exact_denoiser(model, target)
    for method in ("ddpm", "ddim"):
        out = model.sample(20, seed=1, method=method, steps=25)
        assert out.dtype == np.int8 and out.shape == (20, 4, 4)
        assert np.array_equal(out, np.broadcast_to(spins[5], out.shape))
    interior = np.where(np.arange(16) % 3 == 0, 0.3, -0.2).astype(np.float32)
    out = with_exact_denoiser(model, interior).sample(10, seed=2)
    assert np.array_equal(out, np.broadcast_to(np.where(interior > 0, 1, -1).reshape(4, 4),
                                               out.shape))


def test_bits_are_relaxed_as_spins(spins):
    bits = ((spins + 1) // 2).astype(np.uint8)
    model = tiny(output="epsilon").fit(bits)
    assert set(torch.unique(model._to_internal(bits[:3])).tolist()) == {-1.0, 1.0}
    with_exact_denoiser(model, 2.0 * bits[7].reshape(-1) - 1.0)
    out = model.sample(5, seed=0, method="ddim", steps=10)
    assert out.dtype == np.uint8 and np.array_equal(out, np.broadcast_to(bits[7], out.shape))


def test_continuous_data_is_standardised_and_mapped_back():
    rng = np.random.default_rng(1)
    x = rng.normal([3.0, -2.0], [0.5, 4.0], size=(4000, 2))
    model = tiny(epochs=1, batch_size=1000).fit(x)
    np.testing.assert_allclose(model.module_.data_mean.numpy(), x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(model.module_.data_scale.numpy(), x.std(0, ddof=1), rtol=1e-4)
    # ε̂ of a point mass at standardised (1, -0.5) -> samples at mean + scale * (1, -0.5)
    out = with_exact_denoiser(model, [1.0, -0.5]).sample(4, seed=0)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, np.broadcast_to(x.mean(0) + x.std(0, ddof=1) * [1.0, -0.5],
                                                    out.shape), rtol=1e-4)


class ConstantField(nn.Module):
    """A "network" whose output is the same field ``b`` for every spin and time."""

    def __init__(self, b):
        super().__init__()
        self.b = b

    def forward(self, x, t):
        return torch.full_like(x, self.b)


def test_spin_field_output_is_the_exact_posterior_of_independent_spins(spins):
    """With output="spin-field", ε̂ = (x_t - sqrt(ᾱ) x̂_0) / sqrt(1 - ᾱ) with
    x̂_0 = tanh(sqrt(ᾱ) x_t / (1 - ᾱ) + h): for independent spins with p(s) ∝ exp(b s) the
    exact posterior mean is that with h = b. So a constant-field network samples them."""
    model = tiny(n_timesteps=1000).fit(spins)   # ᾱ_T ~ 4e-5: x_T is N(0, I)
    assert model._output_kind() == "spin-field"
    schedule, b = model.schedule_, 0.4
    x_t = torch.linspace(-2, 2, 9)[None, :].repeat(3, 1)
    t = torch.tensor([0, 300, 999])
    abar = schedule.alphas_cumprod[t].float()[:, None]
    posterior_mean = torch.tanh(b + abar.sqrt() * x_t / (1 - abar))   # Bayes, one spin
    expected = (x_t - abar.sqrt() * posterior_mean) / (1 - abar).sqrt()
    # float32: at t = 0, ε̂ ~ 100 carries round-off ~1e-4 relative
    torch.testing.assert_close(model._epsilon(ConstantField(b), x_t, t), expected, rtol=1e-3,
                               atol=1e-3)
    model.module_.ema.module = ConstantField(b)
    # 64 000 spins; measured means 0.3830 (DDPM-1000) and 0.3819 (DDIM-50) against
    # tanh(0.4) = 0.3799, standard error 0.0037
    for method, steps in (("ddpm", None), ("ddim", 50)):
        out = model.sample(4000, seed=0, method=method, steps=steps).reshape(-1)
        assert abs(out.mean() - np.tanh(b)) < 4 * np.sqrt((1 - np.tanh(b) ** 2) / out.size)


# --- sampling options ---------------------------------------------------------------------

def test_ddim_is_deterministic_given_the_initial_noise(spins):
    model = tiny(epochs=3).fit(spins.astype(np.float32) * 0.5)   # continuous values
    noise = np.random.default_rng(3).normal(size=(6, 4, 4))
    a = model.sample(6, seed=1, method="ddim", steps=20, initial_noise=noise)
    b = model.sample(6, seed=2, method="ddim", steps=20, initial_noise=noise)
    np.testing.assert_array_equal(a, b)
    c = model.sample(6, seed=1, method="ddim", steps=20, eta=1.0, initial_noise=noise)
    d = model.sample(6, seed=2, method="ddim", steps=20, eta=1.0, initial_noise=noise)
    e = model.sample(6, seed=1, steps=20, initial_noise=noise)
    assert not np.array_equal(c, d) and not np.array_equal(a, e)
    # the default seed path draws x_T from the seed: same seed, same samples
    np.testing.assert_array_equal(model.sample(6, seed=4, method="ddim", steps=5),
                                  model.sample(6, seed=4, method="ddim", steps=5))


def test_sample_steps_setting_is_the_default_number_of_steps(spins):
    model = tiny(sample_steps=7).fit(spins)
    calls = []
    ema = model.module_.ema
    original = ema.module.forward
    ema.module.forward = lambda x, t: calls.append(int(t[0])) or original(x, t)
    model.sample(3, seed=0)
    assert calls == model.schedule_.timesteps(7)
    calls.clear()
    model.sample(3, seed=0, steps=3, method="ddim")
    assert calls == [49, 24, 0]


# --- EMA ----------------------------------------------------------------------------------

def test_ema_follows_the_warm_up_formula():
    from torch.optim.swa_utils import AveragedModel

    net = nn.Linear(1, 1, bias=False)
    ema = AveragedModel(net, multi_avg_fn=ema_with_warmup(0.9))
    expected = None
    for n, value in enumerate([1.0, 2.0, 4.0, -3.0, 0.5, 7.0, 1.0, 1.0]):
        with torch.no_grad():
            net.weight.fill_(value)
        ema.update_parameters(net)
        decay = min(0.9, (1 + n) / (10 + n))
        expected = value if n == 0 else decay * expected + (1 - decay) * value
        assert float(ema.module.weight.detach()) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_fused_ema_step_matches_update_parameters():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    fused, reference = WarmupEMA(net, 0.95), WarmupEMA(net, 0.95)
    for _ in range(6):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn(p.shape))
        fused.step(net)
        reference.update_parameters(net)
        for a, b in zip(fused.module.parameters(), reference.module.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    assert int(fused.n_averaged) == 6
    assert not any(p.requires_grad for p in fused.parameters())


def test_ema_weights_are_used_for_sampling(spins):
    model = tiny(epochs=3).fit(spins)
    denoiser, ema = model.module_.denoiser, model.module_.ema.module
    assert int(model.module_.ema.n_averaged) == model._trainer.step
    assert any(not torch.equal(p, q) for p, q in zip(denoiser.parameters(), ema.parameters()))
    before = model.sample(8, seed=0, steps=10)
    with torch.no_grad():
        for p in denoiser.parameters():
            p.fill_(1e3)      # the trained (non-EMA) weights play no part in sampling
    np.testing.assert_array_equal(model.sample(8, seed=0, steps=10), before)
    assert "module_" in dir(model) and any(k.startswith("ema.") for k in
                                            model.module_.state_dict())


class Kill(Callback):
    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, trainer):
        if trainer.epoch == self.at:
            raise KeyboardInterrupt


def test_resume_is_bit_identical_including_the_ema(spins, tmp_path):
    settings = dict(epochs=4, lr_schedule="cosine", schedule="cosine")
    full = tiny(**settings).fit(spins)
    with pytest.raises(KeyboardInterrupt):
        tiny(**settings).fit(spins, checkpoint_dir=tmp_path, callbacks=[Kill(3)])
    assert latest_checkpoint(tmp_path).name == "checkpoint-000002"
    resumed = tiny(**settings).fit(spins, checkpoint_dir=tmp_path, resume=True)
    for name, tensor in full.module_.state_dict().items():
        assert torch.equal(tensor, resumed.module_.state_dict()[name]), name
    assert [r["loss"] for r in resumed.history_] == [r["loss"] for r in full.history_]


def test_history_logs_the_noise_prediction_loss(spins):
    model = tiny(epochs=3).fit(spins)
    assert [r["epoch"] for r in model.history_] == [1, 2, 3]
    assert all(0 < r["loss"] < 10 and math.isfinite(r["loss"]) for r in model.history_)
