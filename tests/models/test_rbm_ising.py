"""The RBM on the 4×4 Ising model at T = 2.269 (near T_c), judged by the exact
KL(p_exact ‖ p_model) over all 2^16 configurations.

REFERENCE.md: exact-gradient Adam (lr 0.01) reaches 0.036 nats after 2000 updates and 0.017
after 3000; CD-10 oscillates between 0.07 and 0.34 and PCD-1 diverges. The optimum needs
large weights (two ordered modes), so the negative phase must move between the modes: the
RBM's defaults use parallel tempering and centred gradients, with Adam at 0.03 decaying
linearly to 0 over 200 epochs (15 800 updates on 10 000 samples).
"""

from __future__ import annotations

import numpy as np
import pytest

import physgen as pg
from physgen.models.rbm import RBM

T = 2.269


@pytest.fixture(scope="module")
def ising():
    """10 000 exact samples of the 4×4 torus at T and the exact distribution."""
    exact = pg.ising.exact(4, T)
    rng = np.random.default_rng(0)
    samples = exact.states[rng.choice(len(exact.states), size=10_000, p=np.exp(exact.log_prob))]
    return samples, exact


def exact_kl(model, exact) -> float:
    log_q = model.score_samples(exact.states)      # exact: the hidden layer is enumerated
    p = np.exp(exact.log_prob)
    assert np.exp(log_q).sum() == pytest.approx(1.0, abs=1e-9)
    return float(np.sum(p * (exact.log_prob - log_q)))


def test_short_default_training_gets_most_of_the_way(ising):
    """The defaults with a fifth of the epochs (3160 updates): KL below 0.1 nats (measured
    about 0.06), against 6.6 nats for independent spins (the model at initialisation)."""
    samples, exact = ising
    model = RBM(epochs=40, seed=0).fit(samples)
    kl = exact_kl(model, exact)
    p = np.exp(exact.log_prob)
    kl_independent = float(np.sum(p * exact.log_prob)) + 16 * np.log(2)   # marginals are ½
    print(f"4x4 Ising, T={T}, RBM defaults but 40 epochs: KL = {kl:.4f} nats "
          f"(independent spins: {kl_independent:.2f})")
    assert kl < 0.1 < 6.0 < kl_independent
    assert model.history_[-1]["swap_rate_min"] > 0.3


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_defaults_reach_the_kl_target(ising, seed):
    """THE target of issue 3: an RBM with 16 hidden units trained with its defaults reaches
    KL(p_exact ‖ p_model) <= 0.03 nats (measured 0.013-0.018 for these seeds)."""
    samples, exact = ising
    model = RBM(n_hidden=16, seed=seed).fit(samples)
    kl = exact_kl(model, exact)
    print(f"4x4 Ising, T={T}, RBM defaults, seed {seed}: KL = {kl:.4f} nats")
    assert kl <= 0.03
    # both ordered halves keep their weight (the data's differ by 0.001): no mode has
    # collapsed. A difference Δ costs about Δ²/2 nats of KL, so Δ < 0.1 is at most 0.005 of
    # the 0.03 budget; measured Δ = 0.056 at seed 2, the SGD noise of the mode weights.
    magnetisation = exact.states.reshape(len(exact.states), -1).sum(1)
    q = np.exp(model.score_samples(exact.states))
    assert abs(q[magnetisation > 0].sum() - q[magnetisation < 0].sum()) < 0.1
