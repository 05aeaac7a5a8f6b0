"""GAN: settings, diagnostics, spins, conditioning, resuming, plots and the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import physgen as pg
from physgen.models.gan import GAN, DiscriminatorEquilibrium

LOG2 = math.log(2.0)
BASE_KEYS = {"epoch", "d_loss", "g_loss", "d_real", "d_fake", "js_estimate", "lr", "time"}


def tiny(**settings):
    base = dict(latent_dim=4, generator_hidden=(16,), discriminator_hidden=(16,), epochs=2,
                batch_size=16, learning_rate=1e-3, seed=0)
    return GAN(**{**base, **settings})


def assert_resumes_bit_identically(points, directory, **settings):
    """4 epochs in one go and 2 + 2 resumed from a checkpoint: the same history (but for
    the times) and the same samples; returns the model fitted in one go."""
    whole = tiny(epochs=4, **settings).fit(points)
    tiny(epochs=2, **settings).fit(points, checkpoint_dir=directory)
    resumed = tiny(epochs=4, **settings).fit(points, checkpoint_dir=directory, resume=True)
    strip = [{k: v for k, v in r.items() if k != "time"} for r in whole.history_]
    assert [{k: v for k, v in r.items() if k != "time"} for r in resumed.history_] == strip
    np.testing.assert_array_equal(resumed.sample(10, seed=0), whole.sample(10, seed=0))
    return whole


@pytest.fixture(scope="module")
def spins():
    from physgen.ising import exact

    ex = exact(4, 2.5)
    rng = np.random.default_rng(0)
    return ex.states[rng.choice(len(ex.states), size=64, p=np.exp(ex.log_prob))].copy()


@pytest.fixture(scope="module")
def points():
    return np.random.default_rng(0).normal(size=(96, 2)).astype(np.float32)


@pytest.mark.parametrize("architecture", ["mlp", "conv", "noise-field"])
def test_samples_are_valid_spins_and_the_signs_of_the_relaxation(spins, architecture):
    model = tiny(architecture=architecture, generator_channels=(8,),
                 discriminator_channels=(8,)).fit(spins)
    samples = model.sample(50, seed=3)
    assert samples.dtype == np.int8 and samples.shape == (50, 4, 4)
    assert set(np.unique(samples)) <= {-1, 1}
    relaxed = model.sample_relaxed(50, seed=3)
    assert relaxed.dtype == np.float32 and np.all(np.abs(relaxed) < 1)
    np.testing.assert_array_equal(samples, np.where(relaxed >= 0, 1, -1))
    d = model.discriminate(spins[:5])
    assert d.shape == (5,) and np.all((d > 0) & (d < 1))


def test_bits_in_bits_out(spins):
    bits = ((spins + 1) // 2).astype(np.uint8)
    samples = tiny().fit(bits).sample(20, seed=0)
    assert samples.dtype == np.uint8 and set(np.unique(samples)) <= {0, 1}


@pytest.mark.parametrize("loss, extra", [
    ("non-saturating", set()), ("minimax", set()),
    ("wasserstein-gp", {"wasserstein_estimate", "gradient_penalty"})])
def test_history_keys_and_identities(points, loss, extra):
    model = tiny(loss=loss).fit(points)
    for record in model.history_:
        assert set(record) == BASE_KEYS | extra
        assert 0.0 <= record["js_estimate"] <= LOG2
        if loss == "wasserstein-gp":
            assert record["wasserstein_estimate"] == pytest.approx(
                record["d_real"] - record["d_fake"], abs=1e-6)
            assert record["g_loss"] == pytest.approx(-record["d_fake"], abs=1e-6)
            assert record["d_loss"] == pytest.approx(
                10 * record["gradient_penalty"] - record["wasserstein_estimate"], abs=1e-5)
        else:
            # d_loss is the summed BCE, so the JS bound follows from it record by record
            expected = min(max(LOG2 - record["d_loss"] / 2, 0.0), LOG2)
            assert record["js_estimate"] == pytest.approx(expected, abs=1e-6)
            assert 0 < record["d_fake"] < 1 and 0 < record["d_real"] < 1
            if loss == "minimax":
                assert record["g_loss"] < 0          # E log(1 - D) <= 0
            else:
                assert record["g_loss"] >= -math.log(record["d_fake"]) - 1e-6   # Jensen


def test_wasserstein_defaults_follow_gulrajani(points):
    model = GAN("wasserstein-gp", latent_dim=2, generator_hidden=(8,),
                discriminator_hidden=(8,), epochs=1, batch_size=8, seed=0)
    assert model.learning_rate == 1e-4 and model.gradient_penalty == 10.0
    model.fit(points)
    for name in ("generator", "discriminator"):
        group = model.optimizers_[name].param_groups[0]
        assert isinstance(model.optimizers_[name], torch.optim.Adam)
        assert group["lr"] == 1e-4 and group["betas"] == (0.0, 0.9)
    # 12 critic steps, a generator step after every 5th: 2 generator updates
    steps = {name: int(model.optimizers_[name].state[
        next(iter(model.module_[name].parameters()))]["step"]) for name in model.optimizers_}
    assert steps == {"discriminator": 12, "generator": 2}
    bce = GAN(latent_dim=2, epochs=1, batch_size=8, seed=0).fit(points)
    assert bce.optimizers_["generator"].param_groups[0]["betas"] == (0.5, 0.999)


def test_gradient_penalty_is_zero_for_a_unit_slope_critic(points):
    model = tiny(loss="wasserstein-gp").fit(points)
    body = model.module_["discriminator"].body
    with torch.no_grad():     # make the critic the linear map x -> x_1 (gradient norm 1)
        for layer in body:
            if isinstance(layer, torch.nn.Linear):
                layer.weight.zero_()
                layer.bias.zero_()
        body[0].weight[0, 0] = 1.0
        body[2].weight[0, 0] = 1.0
    x = torch.as_tensor(points[:32])
    fake = torch.as_tensor(points[32:64]) * 0.5 + 3
    # LeakyReLU(0.2) halves-and-fifths the slope on the negative side: shift to positives
    assert float(model._gradient_penalty(x + 10, fake + 10, None).detach()) == pytest.approx(0, abs=1e-6)
    assert float(model._gradient_penalty(x - 20, fake - 20, None).detach()) == pytest.approx(0.64, rel=1e-5)


@pytest.mark.parametrize("settings, message", [
    ({"loss": "hinge"}, "loss must be one of"),
    ({"noise": "cauchy"}, "noise must be one of"),
    ({"architecture": "resnet"}, "architecture must be one of"),
    ({"latent_dim": 0}, "latent_dim must be a positive integer"),
    ({"n_critic": 0}, "n_critic must be a positive integer"),
    ({"generator_hidden": (8, -1)}, "generator_hidden must be a sequence"),
    ({"discriminator_channels": ()}, "discriminator_channels must be a sequence"),
    ({"label_smoothing": 1.0}, r"label_smoothing must be a number in \[0, 1\)"),
    ({"loss": "wasserstein-gp", "label_smoothing": 0.1}, "cross-entropy losses"),
    ({"gradient_penalty": -1.0}, "gradient_penalty must be"),
    ({"conditional": "yes"}, "conditional must be True or False"),
    ({"betas": (0.5,)}, "betas must be two numbers"),
    ({"optimizer": "sgd", "betas": (0.5, 0.9)}, "betas apply to optimizer"),
    ({"stop_tolerance": 0.7}, r"stop_tolerance must be a number in \(0, 0.5\)"),
    ({"loss": "wasserstein-gp", "stop_tolerance": 0.1}, "unbounded WGAN-GP critic"),
    ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
    ({"relaxation": "gumbel"}, "relaxation must be one of"),
    ({"ema_decay": 1.0}, r"ema_decay must be a number in \[0, 1\)"),
    ({"r1_penalty": -1.0}, "r1_penalty must be a number >= 0"),
    ({"loss": "wasserstein-gp", "r1_penalty": 1.0}, "own gradient_penalty"),
    ({"pack": 0}, "pack must be a positive integer"),
    ({"lookahead_steps": 0}, "lookahead_steps must be a positive integer"),
    ({"lookahead_alpha": 0.0}, r"lookahead_alpha must be a number in \(0, 1\]"),
    ({"lookahead_alpha": float("nan")}, r"lookahead_alpha must be a number in \(0, 1\]"),
    ({"r1_penalty": True}, "r1_penalty must be a number >= 0"),
    ({"snapshot_epochs": 0}, "snapshot_epochs must be a positive integer or None"),
])
def test_bad_settings_are_named(points, settings, message):
    with pytest.raises(ValueError, match=message):
        tiny(**settings).fit(points)


def test_conv_needs_square_lattices():
    with pytest.raises(ValueError, match="square lattices"):
        tiny(architecture="conv").fit(np.ones((8, 16), np.float32))
    with pytest.raises(ValueError, match="divisible"):
        tiny(architecture="conv", discriminator_channels=(4, 4, 4)).fit(
            np.ones((8, 4, 4), np.float32))


def test_noise_field_generator_takes_per_site_noise(spins):
    lattices = np.where(np.random.default_rng(0).random((32, 8, 8)) < 0.5, -1, 1).astype(np.int8)
    model = tiny(architecture="noise-field", generator_channels=(8,), noise_channels=3,
                 discriminator_channels=(8,)).fit(lattices)
    z = model._noise(5, torch.Generator().manual_seed(0))
    assert z.shape == (5, 3 * 64 + 4)          # 3 values per site of 8×8, then the code
    assert model.module_["discriminator"].flat is not None    # "mlp+conv" by default
    generator = model.module_["generator"]
    with torch.no_grad():
        out = generator(z)
        z_site = z.clone()
        z_site[:, 0] += 1.0            # the first noise channel at site (0, 0)
        changed = (generator(z_site) != out).reshape(5, 8, 8).any(0).numpy()
    # two 3×3 convolutions: the change reaches sites within 2 steps (periodically) only
    distance = np.minimum(np.arange(8), 8 - np.arange(8))
    reach = np.maximum(distance[:, None], distance[None, :])
    assert changed[reach <= 1].all() and not changed[reach > 2].any()
    with pytest.raises(ValueError, match="square lattices"):
        tiny(architecture="noise-field").fit(np.ones((8, 16), np.float32))
    with pytest.raises(ValueError, match="noise_channels must be an integer >= 0"):
        tiny(architecture="noise-field", noise_channels=-1).fit(spins)


def test_mlp_plus_conv_discriminator_adds_the_two_logits(spins):
    model = tiny(discriminator_architecture="mlp+conv", discriminator_channels=(8,)).fit(spins)
    D = model.module_["discriminator"]
    x = torch.as_tensor(spins[:6], dtype=torch.float32).reshape(6, -1)
    with torch.no_grad():
        both = D(x)
        conv_only = D.body(x.reshape(6, 1, 4, 4)).reshape(6)
        torch.testing.assert_close(both, conv_only + D.flat(x).reshape(6))


@pytest.mark.parametrize("discriminator_architecture", ["mlp", "conv", "mlp+conv"])
def test_packed_discriminator_judges_consecutive_rows_together(spins,
                                                               discriminator_architecture):
    # batch 12 over 64 rows: the last batch of 4 is not a multiple of 3 and is filled up
    model = tiny(pack=3, batch_size=12, discriminator_architecture=discriminator_architecture,
                 discriminator_channels=(8,), conditional=True).fit(spins, np.arange(64) % 2)
    assert all(np.isfinite(record["d_loss"]) for record in model.history_)
    D = model.module_["discriminator"]
    x = torch.as_tensor(spins[:9], dtype=torch.float32).reshape(9, -1)
    label = torch.eye(2)[torch.arange(9) % 2]
    with torch.no_grad():
        out = D(x, label)
        x_changed = x.clone()
        x_changed[4] *= -1                      # a row of the second pack
        changed = D(x_changed, label) != out
    assert out.shape == (3,) and changed.tolist() == [False, True, False]
    assert model.discriminate(spins[:6], y=[0, 1] * 3).shape == (2,)
    with pytest.raises(ValueError, match="multiple of 3 samples"):
        model.discriminate(spins[:5], y=[0] * 5)
    assert np.isfinite(model.generator_gradient_norm(n_samples=10, y=0, seed=0))


def test_rejection_sampling_needs_single_sample_discriminator(spins):
    with pytest.raises(ValueError, match="packs of 2"):
        tiny(pack=2).fit(spins).sample(5, rejection=True)


def test_uniform_noise(points):
    model = tiny(noise="uniform").fit(points)
    z = model._noise(1000, torch.Generator().manual_seed(0))
    assert float(z.min()) >= -1 and float(z.max()) <= 1 and float(z.min()) < -0.99


def test_class_conditional(spins, tmp_path):
    labels = np.arange(len(spins)) % 3
    model = tiny(conditional=True).fit(spins, labels)
    assert (model.label_kind_, model.n_classes_, model.label_dim_) == ("class", 3, 3)
    samples = model.sample(12, y=np.repeat([0, 1, 2], 4), seed=0)
    assert samples.shape == (12, 4, 4) and set(np.unique(samples)) <= {-1, 1}
    assert model.sample(5, y=2, seed=0).shape == (5, 4, 4)
    with pytest.raises(ValueError, match="needs labels"):
        model.sample(5, seed=0)
    with pytest.raises(ValueError, match=r"lie in 0 \.\. 2"):
        model.sample(5, y=3, seed=0)
    with pytest.raises(ValueError, match="integer class labels"):
        model.sample(5, y=1.5, seed=0)
    with pytest.raises(ValueError, match="needs labels"):
        tiny(conditional=True).fit(spins)
    with pytest.raises(ValueError, match="not conditional"):
        tiny().fit(spins, labels)
    model.save(tmp_path / "run")
    loaded = pg.load(tmp_path / "run")
    assert loaded.n_classes_ == 3
    np.testing.assert_array_equal(loaded.sample(7, y=1, seed=4), model.sample(7, y=1, seed=4))


def test_continuous_conditional_conv(spins, tmp_path):
    temperature = np.linspace(1.5, 3.5, len(spins))
    model = tiny(conditional=True, architecture="conv", generator_channels=(8,),
                 discriminator_channels=(8,)).fit(spins, temperature)
    assert model.label_kind_ == "continuous" and model.label_dim_ == 1
    assert model.label_mean_[0] == pytest.approx(2.5)
    assert model.label_scale_[0] == pytest.approx(temperature.std(), rel=1e-6)
    assert model.sample(6, y=2.0, seed=0).shape == (6, 4, 4)
    assert model.discriminate(spins[:3], y=[2.0, 2.5, 3.0]).shape == (3,)
    with pytest.raises(ValueError, match="1 value"):
        model.sample(4, y=np.ones((4, 2)), seed=0)
    model.save(tmp_path / "run")
    loaded = pg.load(tmp_path / "run")
    np.testing.assert_array_equal(loaded.sample(9, y=3.0, seed=2),
                                  model.sample(9, y=3.0, seed=2))


@pytest.mark.parametrize("loss", ["non-saturating", "wasserstein-gp"])
def test_resume_is_bit_identical(points, tmp_path, loss):
    assert_resumes_bit_identically(points, tmp_path, loss=loss)


def test_lookahead_resumes_bit_identically(points, tmp_path):
    # 96 points in batches of 16: 6 steps per epoch, a pull-back after every 4th step, so
    # the checkpoint after epoch 2 (step 12) falls between pull-backs of different phase
    whole = assert_resumes_bit_identically(points, tmp_path, lookahead_steps=4,
                                           lookahead_alpha=0.3)
    assert not np.array_equal(tiny(epochs=4).fit(points).sample(10, seed=0),
                              whole.sample(10, seed=0))


def test_lookahead_pulls_both_networks_back_toward_the_slow_weights(points):
    from physgen.training.loop import restore_state, snapshot_state

    model = tiny(epochs=1, lookahead_steps=3, lookahead_alpha=0.25).fit(points)
    x = torch.as_tensor(points[:16])
    for step in (6, 7):                        # after the epoch's 6 steps: no pull-back
        model._train_step(x, None, step)
    slow_before = [s.clone() for s in model._slow]
    saved, rng = snapshot_state(model), model.generator_.get_state()
    model.lookahead_steps = None               # the 9th step without its pull-back ...
    model._train_step(x, None, 8)
    fast_after = [p.detach().clone() for p in model._fast]
    restore_state(model, saved)
    model.generator_.set_state(rng)
    model.lookahead_steps = 3                  # ... and with it
    model._train_step(x, None, 8)
    for slow, before, fast, p in zip(model._slow, slow_before, fast_after, model._fast):
        torch.testing.assert_close(slow, before + 0.25 * (fast - before))
        torch.testing.assert_close(p.detach(), slow, rtol=0, atol=0)
    assert len(model._fast) == len(list(model.module_["generator"].parameters())) + \
        len(list(model.module_["discriminator"].parameters()))


@pytest.mark.parametrize("pack", [1, 2])
def test_r1_penalty_is_the_squared_input_gradient_on_real_data(points, pack):
    model = tiny(r1_penalty=2.0, epochs=1, pack=pack).fit(points)
    assert "r1_penalty" in model.history_[0]
    D = model.module_["discriminator"]
    x = torch.as_tensor(points[:16]).requires_grad_(True)
    grad, = torch.autograd.grad(D(x).sum(), x)
    # the squared norm of the gradient of each pack's logit with respect to its input
    expected = float(grad.reshape(16 // pack, -1).square().sum(1).mean())
    # the logged value of one more step equals the penalty computed by hand (before the
    # step's update; D is deterministic)
    logs = model._train_step(x.detach(), None, 0)
    assert float(logs["r1_penalty"]) == pytest.approx(expected, rel=1e-5)
    plain = tiny(epochs=1).fit(points)
    assert "r1_penalty" not in plain.history_[0]


def test_generator_ema_is_sampled_saved_and_resumed(points, tmp_path):
    model = tiny(ema_decay=0.9, epochs=3).fit(points)
    G, ema = model.module_["generator"], model.module_["generator_ema"]
    assert int(ema.n_averaged) == model._trainer.step      # one update per generator step
    assert any(not torch.equal(p, q) for p, q in zip(G.parameters(), ema.module.parameters()))
    before = model.sample(8, seed=0)
    with torch.no_grad():
        for p in G.parameters():
            p.fill_(1e3)          # the last iterate plays no part in sampling
    np.testing.assert_array_equal(model.sample(8, seed=0), before)
    model.save(tmp_path / "run")
    np.testing.assert_array_equal(pg.load(tmp_path / "run").sample(8, seed=0), before)
    assert_resumes_bit_identically(points, tmp_path / "ckpt", ema_decay=0.9)


def test_samples_come_from_the_mixture_of_the_last_epochs_generators(points, tmp_path):
    weights = []

    class Record(pg.training.callbacks.Callback):
        def on_epoch_end(self, trainer):
            weights.append([p.clone() for p in trainer.model._trained_generator().parameters()])

    model = tiny(snapshot_epochs=3, epochs=5, ema_decay=0.9).fit(points, callbacks=[Record()])
    snapshots = model.module_["generator_snapshots"]
    assert int(snapshots.n_taken) == 5 and snapshots.n_held == 3
    # the ring buffer holds the ends of epochs 4, 5 and 3 (slots 5 % 3, 4 % 3, 3 % 3) ...
    for slot, epoch in zip(snapshots.snapshots, (4, 5, 3)):
        for p, q in zip(slot.parameters(), weights[epoch - 1]):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
    # ... and row i of a batch comes from slot i mod 3
    z = model._noise(7, torch.Generator().manual_seed(0))
    with torch.no_grad():
        mixed = snapshots(z)
        for i in range(7):
            torch.testing.assert_close(mixed[i], snapshots.snapshots[i % 3](z[i:i + 1])[0])
        one = model.sample_relaxed(7, seed=0).reshape(7, -1)
        torch.testing.assert_close(torch.as_tensor(one),
                                   snapshots(model._noise(7, pg.random.torch_generator(0))))
    before = model.sample(9, seed=0)
    model.save(tmp_path / "run")
    np.testing.assert_array_equal(pg.load(tmp_path / "run").sample(9, seed=0), before)
    # the checkpoint after epoch 2 holds 2 of the 3 snapshots; the buffer wraps after it
    assert_resumes_bit_identically(points, tmp_path / "ckpt", snapshot_epochs=3)


def test_skipped_steps_leave_the_js_sums_alone(points):
    model = tiny(epochs=1, on_nonfinite="skip")
    model.fit(points)
    state = model._get_training_state()
    assert float(state["bce_count"]) == 0    # reset at the end of every epoch
    assert model.history_[0]["skipped_steps"] == 0


def test_equilibrium_callback_reads_the_history():
    class Trainer:
        stop, epoch = False, 3
        history = [{"d_real": 0.9, "d_fake": 0.1}] + [{"d_real": 0.52, "d_fake": 0.47}] * 2

    callback = DiscriminatorEquilibrium(tolerance=0.05, patience=2)
    trainer = Trainer()
    callback.on_epoch_end(trainer)
    assert trainer.stop and callback.stopped_epoch == 3
    trainer = Trainer()
    DiscriminatorEquilibrium(tolerance=0.05, patience=3).on_epoch_end(trainer)
    assert not trainer.stop
    with pytest.raises(ValueError, match="tolerance"):
        DiscriminatorEquilibrium(tolerance=0.0)


def test_plots(points, spins, tmp_path):
    from physgen.report.gan_plots import plot_gan_history, plot_sample_snapshots
    from physgen.training import SampleSnapshot

    snapshot = SampleSnapshot(every_n_epochs=1, n_samples=6)
    ns = tiny(architecture="conv", generator_channels=(8,), discriminator_channels=(8,)).fit(
        spins, callbacks=[snapshot])
    wgan = tiny(loss="wasserstein-gp").fit(points)
    ring = SampleSnapshot(every_n_epochs=1, n_samples=50)
    tiny().fit(points, callbacks=[ring])
    paths = [plot_gan_history(ns.history_, tmp_path / "ns.png"),
             plot_gan_history(wgan.history_, tmp_path / "wgan.png"),
             plot_sample_snapshots(snapshot.samples, tmp_path / "grid.png", n_columns=4),
             plot_sample_snapshots(ring.samples, tmp_path / "points.png")]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="history_"):
        plot_gan_history([{"epoch": 1, "loss": 0.3}], tmp_path / "x.png")
    with pytest.raises(ValueError, match="snapshots"):
        plot_sample_snapshots([], tmp_path / "x.png")


def test_cli_train_and_sample(spins, tmp_path):
    from click.testing import CliRunner

    from physgen.cli.main import cli

    data = tmp_path / "ising.npz"
    pg.data.save(data, spins)
    runner = CliRunner()
    result = runner.invoke(cli, [
        "train", "gan", "--data", str(data), "--out", str(tmp_path / "run"),
        "--set", "loss=wasserstein-gp", "--set", "epochs=2", "--set", "latent_dim=4",
        "--set", "generator_hidden=16", "--set", "discriminator_hidden=16",
        "--set", "n_critic=2", "--set", "betas=[0.0, 0.99]", "--set", "seed=0"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["settings"]["loss"] == "wasserstein-gp"
    assert config["settings"]["n_critic"] == 2 and config["settings"]["betas"] == [0.0, 0.99]
    result = runner.invoke(cli, ["sample", str(tmp_path / "run"), "--n-samples", "20",
                                 "--out", str(tmp_path / "gen.npz")])
    assert result.exit_code == 0, result.output
    generated = pg.data.load(tmp_path / "gen.npz").x
    assert generated.shape == (20, 4, 4) and set(np.unique(generated)) <= {-1, 1}


def test_stochastic_relaxation_draws_spins_with_the_tanh_means(spins):
    model = tiny(relaxation="stochastic", epochs=1).fit(spins)
    samples = model.sample(4000, seed=5)
    assert samples.dtype == np.int8 and set(np.unique(samples)) <= {-1, 1}
    np.testing.assert_array_equal(samples, model.sample(4000, seed=5))
    # given the latent draws, spins are independent with mean t (the relaxed value)
    means = model.sample_relaxed(4000, seed=5)
    residual = (samples - means).mean()
    assert abs(residual) < 4 * np.sqrt((1 - means ** 2).mean() / samples.size)
    assert not np.array_equal(samples, np.where(means >= 0, 1, -1))


def test_straight_through_samples_are_the_signs(spins):
    model = tiny(relaxation="straight-through", epochs=1).fit(spins)
    np.testing.assert_array_equal(model.sample(50, seed=2),
                                  np.where(model.sample_relaxed(50, seed=2) >= 0, 1, -1))


def test_rejection_sampling_needs_an_unconditional_cross_entropy_gan(spins):
    labels = np.arange(len(spins)) % 2
    with pytest.raises(ValueError, match="unconditional"):
        tiny(conditional=True).fit(spins, labels).sample(5, y=0, rejection=True)
    samples = tiny().fit(spins).sample(30, seed=0, rejection=True)
    assert samples.shape == (30, 4, 4) and set(np.unique(samples)) <= {-1, 1}
