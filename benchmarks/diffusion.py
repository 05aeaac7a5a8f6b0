"""Diffusion speed: physgen's training loop against a plain hand-written PyTorch DDPM loop,
and sampling throughput of DDIM-50 against DDPM-1000.

Training: the same network (physgen's own denoiser class, built with the same settings),
the same optimizer, batch size, noising, loss and EMA update, written out as the usual
few-line PyTorch loop; printed as training samples per second and the ratio (target >= 0.9).
Cases: the 8-Gaussian ring with the MLP denoiser, and L = 16 Ising lattices with the
convolutional one.

One implementation difference is physgen's own choice and stays in the comparison: its
Adam runs with ``foreach=True`` (the multi-tensor form of the same update, bit-identical
results on the CPU), while the plain loop keeps PyTorch's CPU default, the per-tensor
Python loop; with ``foreach=False`` physgen measured 0.91-0.92x on the ring case.

Sampling: samples per second of ``sample(method="ddim", steps=50)`` against the full
ancestral chain ``sample(method="ddpm")`` of 1000 steps (target >= 15x).

    python benchmarks/diffusion.py [--quick] [--threads N]

Timings taken on a shared machine are noisy; the ratios (interleaved, best of repeats)
are what to read.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch

import physgen as pg
from physgen.models.base import infer_domain
from physgen.models.diffusion import Diffusion


def plain_ddpm_training(denoiser, x, *, epochs, batch_size, learning_rate, n_timesteps,
                        ema_decay, standardise, seed):
    """The reference: a textbook DDPM loop (Ho et al. algorithm 1) with an EMA copy."""
    torch.manual_seed(seed)
    ema = copy.deepcopy(denoiser).requires_grad_(False)
    optimizer = torch.optim.Adam(denoiser.parameters(), lr=learning_rate)
    betas = torch.linspace(1e-4, 0.02, n_timesteps, dtype=torch.float64)
    abar = torch.cumprod(1 - betas, 0)
    sqrt_abar, sqrt_one_minus = abar.sqrt().float(), (1 - abar).sqrt().float()
    x = torch.as_tensor(x, dtype=torch.float32).reshape(len(x), -1)
    if standardise:
        x = (x - x.mean(0)) / x.std(0)
    shape = (-1, 1)
    n_updates = 0
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), batch_size):
            x0 = x[order[start:start + batch_size]]
            t = torch.randint(0, n_timesteps, (len(x0),))
            noise = torch.randn_like(x0)
            x_t = sqrt_abar[t].view(shape) * x0 + sqrt_one_minus[t].view(shape) * noise
            loss = torch.nn.functional.mse_loss(denoiser(x_t, t), noise)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            decay = min(ema_decay, (1 + n_updates) / (10 + n_updates))
            with torch.no_grad():
                for p_ema, p in zip(ema.parameters(), denoiser.parameters()):
                    p_ema.lerp_(p, 1 - decay)
            n_updates += 1
    return ema


def best_rate(fn, n_items, repeats):
    """Items per second of the fastest of ``repeats`` runs of ``fn``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n_items / best


def training_case(name, x, settings, epochs, repeats):
    model = Diffusion(epochs=epochs, seed=0, **settings)

    def physgen_fit():
        model.fit(x)

    # the same network as physgen builds it, with the same settings
    template = Diffusion(epochs=1, seed=0, **settings).fit(x[:model.batch_size]).module_.denoiser
    continuous = infer_domain(np.asarray(x)) == "continuous"

    def plain_fit():
        plain_ddpm_training(copy.deepcopy(template), x, epochs=epochs,
                            batch_size=model.batch_size, learning_rate=model.learning_rate,
                            n_timesteps=model.n_timesteps, ema_decay=model.ema_decay,
                            standardise=continuous, seed=0)

    physgen_fit(), plain_fit()      # warm up (allocations, lazy imports)
    ours, theirs = [], []
    for _ in range(repeats):        # interleaved, so that load changes hit both alike
        ours.append(best_rate(physgen_fit, epochs * len(x), 1))
        theirs.append(best_rate(plain_fit, epochs * len(x), 1))
    ours, theirs = max(ours), max(theirs)
    print(f"{name:<34}{ours:>14,.0f}{theirs:>14,.0f}{ours / theirs:>9.2f}x")


def sampling_case(name, x, settings, n_samples, repeats):
    model = Diffusion(epochs=1, seed=0, **settings).fit(x)
    ddim = best_rate(lambda: model.sample(n_samples, seed=1, method="ddim", steps=50),
                     n_samples, repeats)
    ddpm = best_rate(lambda: model.sample(n_samples, seed=1, method="ddpm"), n_samples, 1)
    print(f"{name:<34}{ddim:>14,.1f}{ddpm:>14,.1f}{ddim / ddpm:>9.1f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    repeats = 2 if args.quick else 3
    ring = pg.data.gaussian_ring(4096 if args.quick else 16384, seed=0)
    lattices = pg.ising.sample(16, 2.5, 512 if args.quick else 1024, seed=0)
    mlp = dict(batch_size=256)
    conv = dict(batch_size=64)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"{'training (samples/s)':<34}{'physgen':>14}{'plain loop':>14}{'ratio':>10}")
    training_case("ring, MLP denoiser", ring, mlp, 2 if args.quick else 4, repeats)
    training_case("Ising L=16, conv denoiser", lattices, conv, 1, repeats)
    print(f"\n{'sampling (samples/s)':<34}{'DDIM-50':>14}{'DDPM-1000':>14}{'speed-up':>10}")
    sampling_case("ring, MLP denoiser", ring, mlp, 1024, repeats)
    sampling_case("Ising L=16, conv denoiser", lattices, conv, 64 if args.quick else 128,
                  repeats)
    print("\ntargets: training ratio >= 0.9x, DDIM-50 >= 15x faster than DDPM-1000")


if __name__ == "__main__":
    main()
