"""The model families that the contract tests (test_contract.py) run over.

A new family joins by appending ONE entry to ``FAMILY_FACTORIES``: a name and a function
``factory(seed) -> unfitted model`` building a tiny model that fits the 64 × 4 × 4 spin data
of ``contract_data()`` in well under a second.
"""

from __future__ import annotations

import numpy as np


def contract_data(n_samples: int = 64, L: int = 4, seed: int = 0) -> np.ndarray:
    """Exact 4×4 Ising samples at T = 2.5: int8 spins, shape (n_samples, L, L)."""
    from physgen.ising import exact

    ex = exact(L, 2.5)
    rng = np.random.default_rng(seed)
    return ex.states[rng.choice(len(ex.states), size=n_samples, p=np.exp(ex.log_prob))].copy()


def _rbm(seed):
    from physgen.models.rbm import RBM

    return RBM(n_hidden=8, training="pcd", epochs=2, batch_size=16, burn_in=5, seed=seed)


def _rbm_cd(seed):
    from physgen.models.rbm import RBM

    return RBM(n_hidden=8, training="cd", k=2, optimizer="adam", learning_rate=0.01, epochs=2,
               batch_size=16, burn_in=5, seed=seed)


def _diffusion(seed):
    from physgen.models.diffusion import Diffusion

    return Diffusion(n_timesteps=20, channels=4, n_blocks=1, time_embedding_dim=8, epochs=2,
                     batch_size=16, seed=seed)


def _bm(seed):
    from physgen.models.boltzmann import BoltzmannMachine

    return BoltzmannMachine(n_chains=32, epochs=2, batch_size=16, burn_in=5, seed=seed)


def _vae(seed):
    from physgen.models.vae import VAE

    return VAE(latent_dim=2, hidden=(16,), context=1, n_components=4, kl_warmup=1,
               n_importance=8, epochs=2, batch_size=16, seed=seed)


def _ebm(seed):
    from physgen.models.ebm import EBM

    return EBM(hidden=(16,), n_steps=3, buffer_size=64, sample_steps=5, epochs=2, batch_size=16,
               seed=seed)


def _gan(seed):
    from physgen.models.gan import GAN

    return GAN(latent_dim=4, generator_hidden=(16,), discriminator_hidden=(16,), epochs=2,
               batch_size=16, seed=seed)


def _dbn(seed):
    from physgen.models.dbn import DBN

    return DBN(hidden_layers=(8, 4), training="pt", n_temperatures=3, epochs=2, batch_size=16,
               burn_in=5, seed=seed)


# (name, factory): add one line per family
FAMILY_FACTORIES = [
    ("rbm-pcd", _rbm),
    ("rbm-cd", _rbm_cd),
    ("diffusion", _diffusion),
    ("bm", _bm),
    ("vae", _vae),
    ("ebm", _ebm),
    ("dbn", _dbn),
    ("gan", _gan),
]
