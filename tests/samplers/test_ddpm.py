"""DDPM / DDIM schedules and steps against closed forms and exact ε-predictors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from physgen.samplers.ddpm import NoiseSchedule, sample

T = 1000


def gen(seed):
    return torch.Generator().manual_seed(seed)


# --- the schedules ----------------------------------------------------------------------------

def test_linear_schedule_is_ho_et_al():
    schedule = NoiseSchedule(T, "linear")
    betas = schedule.betas.numpy()
    assert betas.shape == (T,) and betas[0] == pytest.approx(1e-4, rel=1e-12)
    assert betas[-1] == pytest.approx(0.02, rel=1e-12)
    np.testing.assert_allclose(np.diff(betas), (0.02 - 1e-4) / (T - 1), rtol=1e-9)
    # ᾱ_t = exp(Σ_{s<=t} log(1 - β_s)), computed independently with log1p
    expected = np.exp(np.cumsum(np.log1p(-(1e-4 + np.arange(T) * (0.02 - 1e-4) / (T - 1)))))
    np.testing.assert_allclose(schedule.alphas_cumprod.numpy(), expected, rtol=1e-10)
    assert schedule.alpha_bar(T - 1) == pytest.approx(4.0358e-5, rel=1e-4)   # x_T is ~pure noise
    assert schedule.alpha_bar(-1) == 1.0


def test_cosine_schedule_follows_nichol_dhariwal():
    s = 0.008
    schedule = NoiseSchedule(T, "cosine")

    def f(t):
        return math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2

    abar = schedule.alphas_cumprod.numpy()
    betas = schedule.betas.numpy()
    unclipped = betas < 0.999
    assert unclipped[:-1].all() and betas[-1] == pytest.approx(0.999)  # only t = T clips
    # timestep t (0-indexed) is step t + 1 of the paper: ᾱ = f(t + 1) / f(0)
    expected = np.array([f(t + 1) / f(0) for t in range(T - 1)])
    np.testing.assert_allclose(abar[:-1], expected, rtol=1e-9)
    assert abar[0] > 0.9999 and abar[T // 2] == pytest.approx(f(T // 2 + 1) / f(0), rel=1e-9)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_posterior_variance_is_gaussian_conditioning(kind):
    """β̃_t = Var(x_{t-1} | x_t, x_0) from the joint Gaussian of (x_{t-1}, x_t) given x_0."""
    schedule = NoiseSchedule(T, kind)
    abar = schedule.alphas_cumprod.numpy()
    alphas = schedule.alphas.numpy()
    prev = np.concatenate([[1.0], abar[:-1]])
    var_prev, var_t = 1 - prev, 1 - abar
    covariance = np.sqrt(alphas) * var_prev
    conditional = var_prev - covariance**2 / var_t
    np.testing.assert_allclose(schedule.posterior_variance.numpy(), conditional,
                               rtol=1e-9, atol=1e-15)
    assert schedule.posterior_variance[0] == 0.0


def test_timesteps():
    schedule = NoiseSchedule(T)
    assert schedule.timesteps() == list(range(T - 1, -1, -1))
    assert schedule.timesteps(T) == schedule.timesteps()
    fifty = schedule.timesteps(50)
    assert len(fifty) == 50 and fifty[0] == T - 1 and fifty[-1] == 0
    assert all(a > b for a, b in zip(fifty, fifty[1:]))
    assert np.ptp(np.diff(fifty)) <= 1      # evenly spread
    assert schedule.timesteps(1) == [T - 1]


# --- the forward process ----------------------------------------------------------------------

def test_add_noise_moments():
    schedule = NoiseSchedule(T)
    n = 100_000
    x0 = torch.tensor([1.0, -1.0, 0.5], dtype=torch.float64).expand(n, 3)
    for t in (0, 10, 500, T - 1):
        noise = torch.randn(n, 3, generator=gen(t), dtype=torch.float64)
        xt = schedule.add_noise(x0, noise, t).numpy()
        abar = schedule.alpha_bar(t)
        mean_se = math.sqrt((1 - abar) / n)
        z_mean = (xt.mean(0) - math.sqrt(abar) * x0[0].numpy()) / mean_se
        var_se = (1 - abar) * math.sqrt(2 / (n - 1))
        z_var = (xt.var(0, ddof=1) - (1 - abar)) / var_se
        assert np.all(np.abs(z_mean) < 5) and np.all(np.abs(z_var) < 5), (t, z_mean, z_var)


def test_add_noise_per_row_timesteps_and_shapes():
    schedule = NoiseSchedule(T)
    x0 = torch.randn(4, 3, 3, generator=gen(0))
    noise = torch.randn(4, 3, 3, generator=gen(1))
    t = torch.tensor([0, 5, 999, 5])
    rows = schedule.add_noise(x0, noise, t)
    for i in range(4):
        np.testing.assert_allclose(
            rows[i].numpy(), schedule.add_noise(x0[i:i + 1], noise[i:i + 1], int(t[i]))[0].numpy(),
            rtol=1e-6)
    with pytest.raises(ValueError, match="one timestep per row"):
        schedule.add_noise(x0, noise, t[:3])
    with pytest.raises(ValueError, match="same shape"):
        schedule.add_noise(x0, noise[:2], 3)
    with pytest.raises(ValueError, match=r"\[0, 999\]"):
        schedule.add_noise(x0, noise, torch.tensor([0, 1, 1000, 2]))
    with pytest.raises(ValueError, match="integers"):
        schedule.add_noise(x0, noise, torch.zeros(4))


# --- single reverse steps ---------------------------------------------------------------------

@pytest.mark.parametrize("t, prev_t", [(500, 499), (999, 979), (30, -1), (1, 0)])
def test_ddpm_step_with_true_noise_samples_the_posterior(t, prev_t):
    """Given the true ε (so x̂_0 = x_0), a DDPM step draws from q(x_prev | x_t, x_0)."""
    schedule = NoiseSchedule(T)
    n = 100_000
    x0, eps = 0.8, 0.3
    abar, abar_prev = schedule.alpha_bar(t), schedule.alpha_bar(prev_t)
    xt = math.sqrt(abar) * x0 + math.sqrt(1 - abar) * eps
    x_t = torch.full((n, 1), xt, dtype=torch.float64)
    out = schedule.step(torch.full_like(x_t, eps), t, x_t, gen(3), prev_t=prev_t).numpy()
    # Gaussian conditioning of x_prev on x_t (x_0 fixed): a = sqrt(ᾱ_t / ᾱ_prev)
    a = math.sqrt(abar / abar_prev)
    var_prev, var_t = 1 - abar_prev, 1 - abar
    cov = a * var_prev
    mean = math.sqrt(abar_prev) * x0 + cov / var_t * (xt - math.sqrt(abar) * x0)
    var = var_prev - cov**2 / var_t
    if var == 0:
        np.testing.assert_allclose(out, mean, rtol=1e-12)
        return
    assert abs(out.mean() - mean) / math.sqrt(var / n) < 5
    assert abs(out.var(ddof=1) - var) / (var * math.sqrt(2 / (n - 1))) < 5


def test_ddim_with_eta_one_is_the_ddpm_step():
    schedule = NoiseSchedule(T, "cosine")
    x_t = torch.randn(64, 5, generator=gen(0), dtype=torch.float64)
    eps = torch.randn(64, 5, generator=gen(1), dtype=torch.float64)
    for t in (1, 300, 999):
        ddpm = schedule.step(eps, t, x_t, gen(2))
        ddim = schedule.step(eps, t, x_t, gen(2), method="ddim", eta=1.0)
        np.testing.assert_allclose(ddim.numpy(), ddpm.numpy(), rtol=1e-10, atol=1e-12)


def test_ddim_without_noise_is_deterministic_and_draws_nothing():
    schedule = NoiseSchedule(T)
    x_T = torch.randn(256, 4, generator=gen(0))

    def denoiser(x, t):   # any smooth function of (x, t)
        return torch.tanh(x) * (1 + t[:, None] / T)

    g1, g2 = gen(1), gen(2)
    state = g1.get_state()
    a = sample(denoiser, x_T, schedule, steps=50, method="ddim", generator=g1)
    b = sample(denoiser, x_T, schedule, steps=50, method="ddim", generator=g2)
    assert torch.equal(a, b)
    assert torch.equal(g1.get_state(), state)
    c = sample(denoiser, x_T, schedule, steps=50, method="ddpm", generator=gen(1))
    d = sample(denoiser, x_T, schedule, steps=50, method="ddpm", generator=gen(2))
    assert not torch.equal(c, d)


def test_clip_keeps_x0_estimate_in_the_box():
    schedule = NoiseSchedule(T)
    x_t = torch.full((3, 1), 5.0)
    out = schedule.step(torch.zeros_like(x_t), 0, x_t, prev_t=-1, clip=1.0)
    assert torch.equal(out, torch.ones_like(x_t))


def test_bad_arguments():
    schedule = NoiseSchedule(T)
    x = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="kind must be one of linear, cosine"):
        NoiseSchedule(T, "quadratic")
    with pytest.raises(ValueError, match="beta_start <= beta_end"):
        NoiseSchedule(T, beta_start=0.1, beta_end=0.01)
    with pytest.raises(ValueError, match="n_timesteps"):
        NoiseSchedule(0)
    with pytest.raises(ValueError, match="prev_t"):
        schedule.step(x, 5, x, prev_t=5)
    with pytest.raises(ValueError, match=r"t must lie in \[0, 999\]"):
        schedule.step(x, 1000, x)
    with pytest.raises(ValueError, match="method must be one of ddpm, ddim"):
        schedule.step(x, 5, x, method="euler")
    with pytest.raises(ValueError, match="same shape"):
        schedule.step(x[:1], 5, x)
    with pytest.raises(ValueError, match="steps must be at most"):
        schedule.timesteps(T + 1)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        schedule.timesteps(0)


# --- whole chains with an exact ε-predictor ---------------------------------------------------

def gaussian_predictor(schedule, mean, covariance):
    """The optimal ε̂(x_t, t) = E[ε | x_t] for data ~ N(mean, covariance):
    sqrt(1 - ᾱ) (ᾱ Σ + (1 - ᾱ) I)^{-1} (x_t - sqrt(ᾱ) μ)."""
    abar = schedule.alphas_cumprod
    eye = torch.eye(len(mean), dtype=torch.float64)
    solves = torch.stack([torch.linalg.inv(a * covariance + (1 - a) * eye) for a in abar])

    def denoiser(x, t):
        a = abar[t[0]]
        return math.sqrt(1 - a) * (x - math.sqrt(a) * mean) @ solves[t[0]].T

    return denoiser


def sampler_variance(schedule, variance, steps, method):
    """Exact variance of the chain's output for 1-D data N(0, variance): every step is an
    affine map of x_t plus independent noise, so Var propagates as A² v + σ² (written
    with Ho et al. eq. 7 and Song et al. eq. 12 directly)."""
    timesteps = schedule.timesteps(steps)
    v = 1.0
    for i, t in enumerate(timesteps):
        abar = schedule.alpha_bar(t)
        abar_prev = schedule.alpha_bar(timesteps[i + 1] if i + 1 < len(timesteps) else -1)
        gain = math.sqrt(abar) * variance / (abar * variance + 1 - abar)   # E[x0|x_t] = gain x_t
        beta = 1 - abar / abar_prev
        if method == "ddpm":
            A = (math.sqrt(abar_prev) * beta / (1 - abar) * gain
                 + math.sqrt(1 - beta) * (1 - abar_prev) / (1 - abar))
            noise = beta * (1 - abar_prev) / (1 - abar)
        else:   # x_prev = sqrt(ᾱ_prev) x̂0 + sqrt(1 - ᾱ_prev) (x_t - sqrt(ᾱ) x̂0)/sqrt(1 - ᾱ)
            A = (math.sqrt(abar_prev) * gain
                 + math.sqrt(1 - abar_prev) * (1 - math.sqrt(abar) * gain) / math.sqrt(1 - abar))
            noise = 0.0
        v = A * A * v + noise
    return v


@pytest.mark.parametrize("kind, method, steps", [
    ("linear", "ddpm", None), ("cosine", "ddpm", None), ("linear", "ddim", None),
    ("cosine", "ddim", 50), ("linear", "ddpm", 100)])
def test_exact_predictor_reproduces_a_gaussian(kind, method, steps):
    """With the optimal ε̂ for N(μ, Σ) data, the sampled mean and covariance match the
    exact output law of the chain (eigen-directions of Σ decouple); for the full schedules
    that law is N(μ, Σ) itself up to the O(1/T) discretisation error (< 2 %)."""
    schedule = NoiseSchedule(T, kind)
    mean = torch.tensor([0.7, -0.3], dtype=torch.float64)
    rotation = torch.tensor([[0.8, -0.6], [0.6, 0.8]], dtype=torch.float64)
    eigenvalues = torch.tensor([1.0, 0.25], dtype=torch.float64)   # standardised data
    covariance = rotation @ torch.diag(eigenvalues) @ rotation.T
    n = 10_000
    x_T = torch.randn(n, 2, generator=gen(0), dtype=torch.float64)
    x = sample(gaussian_predictor(schedule, mean, covariance), x_T, schedule, steps=steps,
               method=method, generator=gen(1)).numpy()
    projected = (x - mean.numpy()) @ rotation.numpy()    # coordinates along the eigenvectors
    for k, lam in enumerate(eigenvalues.tolist()):
        v = sampler_variance(schedule, lam, steps, method)
        if steps is None:
            assert abs(v / lam - 1) < 0.02, (kind, method, lam, v)
        z_mean = projected[:, k].mean() / math.sqrt(v / n)
        z_var = (projected[:, k].var(ddof=1) - v) / (v * math.sqrt(2 / (n - 1)))
        assert abs(z_mean) < 5 and abs(z_var) < 5, (k, z_mean, z_var)
    cross = np.mean(projected[:, 0] * projected[:, 1]) / math.sqrt(
        sampler_variance(schedule, 1.0, steps, method)
        * sampler_variance(schedule, 0.25, steps, method) / n)
    assert abs(cross) < 5          # the eigen-directions stay uncorrelated


@pytest.mark.parametrize("method", ["ddpm", "ddim"])
def test_exact_predictor_of_a_point_mass_lands_on_it(method):
    """For data concentrated at μ, x̂_0 = μ at every step and both samplers return μ."""
    schedule = NoiseSchedule(T)
    mu = torch.tensor([0.3, -1.2], dtype=torch.float64)

    def denoiser(x, t):
        a = schedule.alphas_cumprod[t][:, None]
        return (x - a.sqrt() * mu) / (1 - a).sqrt()

    x_T = torch.randn(100, 2, generator=gen(0), dtype=torch.float64)
    out = sample(denoiser, x_T, schedule, steps=40, method=method, generator=gen(1))
    np.testing.assert_allclose(out.numpy(), mu.expand(100, 2).numpy(), rtol=0, atol=1e-9)
