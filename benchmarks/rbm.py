"""physgen RBM vs scikit-learn BernoulliRBM: training samples per second, same settings.

Both use persistent CD-1 (scikit-learn's only algorithm) with plain SGD, no centring, a
constant learning rate, one chain per batch row and the same learning rate, batch size,
hidden units and epochs. physgen's fit also computes its per-epoch monitoring values
(pseudo-likelihood and free-energy gap on 1000 rows), which scikit-learn skips.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/rbm.py

(a) random binary 10000×784, 256 hidden; (b) the 8×8 digits (1797×64, in [0, 1]), 64 hidden;
batch 64. Targets: >= 3× on (a), >= 1.5× on (b).

Threads are pinned to one for both sides (torch.set_num_threads(1) and the BLAS variables
above): with several threads on a shared machine the small products of (b) get slower, not
faster. The fits alternate (physgen, scikit-learn, physgen, ...) so that both see the same
machine load, and each side's best of ``--repeats`` is kept. The ratio is reported for CPU
time of the process (robust to other processes on the machine) and for wall-clock time.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _best_times(fits, repeats: int) -> list[tuple[float, float]]:
    """(best CPU seconds, best wall seconds) of each fit, run alternately."""
    best = [(np.inf, np.inf) for _ in fits]
    for _ in range(repeats):
        for index, fit in enumerate(fits):
            cpu, wall = time.process_time(), time.perf_counter()
            fit()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            best[index] = (min(best[index][0], cpu), min(best[index][1], wall))
    return best


def compare(name: str, x: np.ndarray, n_hidden: int, epochs: int, batch_size: int = 64,
            learning_rate: float = 0.05, repeats: int = 5) -> tuple[float, float]:
    from sklearn.neural_network import BernoulliRBM

    from physgen.models.rbm import RBM

    def ours():
        RBM(n_hidden=n_hidden, training="pcd", k=1, optimizer="sgd", centering=False,
            lr_schedule="constant", epochs=epochs, batch_size=batch_size,
            learning_rate=learning_rate, seed=0).fit(x)

    def theirs():
        BernoulliRBM(n_components=n_hidden, learning_rate=learning_rate, batch_size=batch_size,
                     n_iter=epochs, random_state=0).fit(x)

    ours(), theirs()   # warm-up: imports, allocator, BLAS initialisation
    (ours_cpu, ours_wall), (theirs_cpu, theirs_wall) = _best_times([ours, theirs], repeats)
    work = len(x) * epochs
    print(f"{name}:\n  samples/s (CPU time)  physgen {work / ours_cpu:10,.0f}   scikit-learn "
          f"{work / theirs_cpu:10,.0f}   ratio {theirs_cpu / ours_cpu:.2f}x\n"
          f"  samples/s (wall)      physgen {work / ours_wall:10,.0f}   scikit-learn "
          f"{work / theirs_wall:10,.0f}   ratio {theirs_wall / ours_wall:.2f}x")
    return theirs_cpu / ours_cpu, theirs_wall / ours_wall


def main(argv=None) -> None:
    import torch
    from sklearn.datasets import load_digits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="fits per side (best kept)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, threads: {torch.get_num_threads()}")
    rng = np.random.default_rng(0)
    random_bits = rng.integers(0, 2, size=(10_000, 784)).astype(np.float32)
    compare("(a) random 10000x784, 256 hidden, batch 64, 1 epoch", random_bits, 256, epochs=1,
            repeats=args.repeats)
    digits = (load_digits().data / 16.0).astype(np.float32)
    compare("(b) digits 1797x64 in [0,1], 64 hidden, batch 64, 10 epochs", digits, 64,
            epochs=10, repeats=args.repeats)


if __name__ == "__main__":
    main()
