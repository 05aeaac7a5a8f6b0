"""GAN speed: physgen's GAN against a plain hand-written PyTorch loop of the same networks.

The course architecture: generator 20 → 100 → 784 (LeakyReLU(0.2) hidden layer), and
discriminator 784 → 100 → 1 (LeakyReLU(0.2), one logit), summed binary cross-entropy for
the discriminator and the non-saturating generator loss, Adam (lr 2e-4, betas (0.5, 0.999))
for both, batch 64, one discriminator step per generator step, one epoch of 60 000 samples
of 784 features. The plain loop is the usual few lines (as in the PyTorch DCGAN example):
shuffle, per batch draw z, one generator pass, D step on real and detached fake, G step
through D. physgen's fit also logs its per-step diagnostics (D(x), D(G(z)), losses, the
Jensen–Shannon bound) and checks the parameters for non-finite values after every step,
which the plain loop skips.

Data (no downloads): (a) scikit-learn's 8×8 digits upsampled to 28×28 in [0, 1]
(continuous: neither side has an output activation) and repeated to 60 000 rows;
(b) random ±1 spins (int8, like Ising data) and (c) random 0/1 bits: physgen presents
discrete data as ±1 to a tanh generator, and the plain loop does the same. Case (c) also
times the conversion of the 0/1 array to ±1 floats at the start of each fit (on both
sides).

    python benchmarks/gan.py [--quick] [--repeats N] [--threads N]

Both sides run in the same process, interleaved (physgen, plain, physgen, ...) so that
both see the same machine load, and each side's best of ``--repeats`` is kept; the ratio
is reported for CPU time of the process (robust to other processes on a shared machine)
and for wall-clock time. Target: physgen >= 0.9× the plain loop.

Measured (torch 2.13 CPU, one thread, 2-core machine at load ≈ 2, so the CPU-time ratio
is the one to read): (a) 0.98×, (b) 0.95×, (c) 1.14×.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import nn

from physgen.models.gan import GAN

from _timing import best_times

LATENT, HIDDEN, FEATURES, BATCH, LR, BETAS = 20, 100, 784, 64, 2e-4, (0.5, 0.999)


def digits_784(n_rows: int) -> np.ndarray:
    """scikit-learn digits upsampled (bilinear) to 28×28, in [0, 1], shape (n_rows, 784)."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    small = load_digits().images / 16.0                                  # (1797, 8, 8)
    big = np.clip(zoom(small, (1, 3.5, 3.5), order=1), 0, 1).reshape(len(small), -1)
    return np.resize(big, (n_rows, FEATURES)).astype(np.float32)


def random_bits(n_rows: int, seed: int = 0) -> np.ndarray:
    """Random 0/1 pixels, uint8, shape (n_rows, 784)."""
    return np.random.default_rng(seed).integers(0, 2, size=(n_rows, FEATURES), dtype=np.uint8)


def random_spins(n_rows: int, seed: int = 0) -> np.ndarray:
    """Random ±1 spins, int8, shape (n_rows, 784)."""
    return (2 * random_bits(n_rows, seed) - 1).astype(np.int8)


def plain_gan_training(x: np.ndarray, *, epochs: int, seed: int = 0):
    """The reference loop; discrete data as ±1 with a tanh generator, as physgen does."""
    torch.manual_seed(seed)
    discrete = x.dtype != np.float32
    data = torch.as_tensor(x, dtype=torch.float32)
    if x.dtype == np.uint8:
        data = 2 * data - 1
    G = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.LeakyReLU(0.2), nn.Linear(HIDDEN, FEATURES),
                      *([nn.Tanh()] if discrete else []))
    D = nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.LeakyReLU(0.2), nn.Linear(HIDDEN, 1))
    opt_g = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
    bce = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        order = torch.randperm(len(data))
        for start in range(0, len(data), BATCH):
            real = data[order[start:start + BATCH]]
            ones, zeros = torch.ones(len(real), 1), torch.zeros(len(real), 1)
            fake = G(torch.randn(len(real), LATENT))
            d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = bce(D(fake), ones)
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
    return G


def physgen_gan_training(x: np.ndarray, *, epochs: int, seed: int = 0) -> GAN:
    return GAN(latent_dim=LATENT, generator_hidden=(HIDDEN,), discriminator_hidden=(HIDDEN,),
               learning_rate=LR, betas=BETAS, batch_size=BATCH, epochs=epochs,
               seed=seed).fit(x)


def compare(name: str, x: np.ndarray, epochs: int, repeats: int) -> tuple[float, float]:
    def ours():
        physgen_gan_training(x, epochs=epochs)

    def theirs():
        plain_gan_training(x, epochs=epochs)

    small = x[:10 * BATCH]
    physgen_gan_training(small, epochs=1), plain_gan_training(small, epochs=1)   # warm-up
    (ours_cpu, ours_wall), (theirs_cpu, theirs_wall) = best_times([ours, theirs], repeats)
    work = len(x) * epochs
    print(f"{name}:\n  samples/s (CPU time)  physgen {work / ours_cpu:10,.0f}   plain loop "
          f"{work / theirs_cpu:10,.0f}   ratio {theirs_cpu / ours_cpu:.2f}x\n"
          f"  samples/s (wall)      physgen {work / ours_wall:10,.0f}   plain loop "
          f"{work / theirs_wall:10,.0f}   ratio {theirs_wall / ours_wall:.2f}x", flush=True)
    return theirs_cpu / ours_cpu, theirs_wall / ours_wall


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 000 samples instead of 60 000")
    parser.add_argument("--repeats", type=int, default=3, help="fits per side (best kept)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    n_rows = 20_000 if args.quick else 60_000
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); generator "
          f"{LATENT} -> {HIDDEN} -> {FEATURES}, discriminator {FEATURES} -> {HIDDEN} -> 1, "
          f"batch {BATCH}, Adam")
    compare(f"(a) digits upsampled to 28x28, {n_rows} rows, 1 epoch", digits_784(n_rows), 1,
            args.repeats)
    compare(f"(b) random ±1 spins {n_rows}x784 (tanh generator), 1 epoch",
            random_spins(n_rows), 1, args.repeats)
    compare(f"(c) random 0/1 bits {n_rows}x784 (as ±1, tanh generator), 1 epoch",
            random_bits(n_rows), 1, args.repeats)
    print("target: ratio >= 0.9x (physgen's overhead <= 10 %)")


if __name__ == "__main__":
    main()
