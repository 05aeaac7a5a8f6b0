"""Metropolis throughput: physgen's compiled kernel against a vectorised NumPy reference.

Prints attempted spin flips per second for each and the ratio, on L = 64, 256, 1024
and on 256 chains of L = 32 at T = 2.27. The `ising-rs` PyPI package (a Rust core, one
attempted flip per Python call: `Lattice.simulation_step`) is timed too when it is
installed (`pip install ising-rs`); it is not a dependency of physgen.

    python benchmarks/ising.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

import physgen as pg

T = 2.27


def numpy_checkerboard_sweeps(spins, temperature, n_sweeps, rng):
    """Reference: checkerboard Metropolis with whole-array NumPy operations."""
    n_chains, L, _ = spins.shape
    ii, jj = np.indices((L, L))
    masks = [((ii + jj) % 2 == c) for c in (0, 1)]
    for _ in range(n_sweeps):
        for mask in masks:
            field = (np.roll(spins, 1, 1) + np.roll(spins, -1, 1)
                     + np.roll(spins, 1, 2) + np.roll(spins, -1, 2))
            delta_e = 2.0 * spins * field
            accept = rng.random(spins.shape) < np.exp(-delta_e / temperature)
            spins[accept & mask] *= -1
    return spins


def rate(fn, n_flips, min_time=1.0):
    fn()  # warm up (compilation, caches)
    runs, start = 0, time.perf_counter()
    while True:
        fn()
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return runs * n_flips / elapsed


def ising_rs_rate(n_chains, L, min_time):
    """Flips/s of ising-rs, or None when it is not installed."""
    try:
        import isingmodel  # the import name of the ising-rs package
    except ImportError:
        return None
    lattices = [isingmodel.Lattice(L, L, T, 0.0) for _ in range(min(n_chains, 8))]
    calls = 100_000

    def run():
        for lattice in lattices:
            for _ in range(calls // len(lattices)):
                lattice.simulation_step()

    return rate(run, calls // len(lattices) * len(lattices), min_time)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings")
    args = parser.parse_args()
    min_time = 0.3 if args.quick else 1.5
    rng = np.random.default_rng(0)
    cases = [(1, 64, 400), (1, 256, 40), (1, 1024, 10), (256, 32, 20)]
    print(f"Metropolis at T={T}, numba threads: {numba.get_num_threads()}")
    print(f"{'case':<14}{'physgen flips/s':>17}{'numpy flips/s':>15}{'ratio':>8}"
          f"{'ising-rs flips/s':>18}{'ratio':>8}")
    for n_chains, L, sweeps in cases:
        spins = rng.choice(np.array([-1, 1], np.int8), size=(n_chains, L, L))
        flips = n_chains * L * L * sweeps
        ours = rate(lambda: pg.ising.metropolis(spins, T, n_sweeps=sweeps, seed=1), flips, min_time)
        ref_spins = spins.astype(np.int64)
        ref_sweeps = max(1, sweeps // 4)
        theirs = rate(lambda: numpy_checkerboard_sweeps(ref_spins, T, ref_sweeps, rng),
                      n_chains * L * L * ref_sweeps, min_time)
        peer = ising_rs_rate(n_chains, L, min_time)
        peer_text = f"{peer:>18.3e}{ours / peer:>7.0f}×" if peer else f"{'not installed':>18}"
        label = f"{n_chains}×{L}×{L}"
        print(f"{label:<14}{ours:>17.3e}{theirs:>15.3e}{ours / theirs:>7.1f}×{peer_text}")


if __name__ == "__main__":
    main()
