"""physgen RBM vs scikit-learn BernoulliRBM: training samples per second, same settings.

Both use persistent CD-1 (scikit-learn's only algorithm) with plain SGD, no centring, a
constant learning rate, one chain per batch row and the same learning rate, batch size,
hidden units and epochs. physgen always computes in float32 (PyTorch's default); scikit-learn
computes in the dtype of its input. Two scikit-learn figures per case:

- ``scikit-learn float32``: given the data as float32, it keeps that dtype for its
  parameters and products (its uniform draws are float64): the like-for-like arithmetic.
- ``scikit-learn float64``: given the same data as float64, NumPy's default for arrays of
  numbers (``rng.integers(0, 2, ...)`` converted by scikit-learn's validation, or any
  ``data / 16.0``), it computes in float64, as it does for most users' arrays.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/rbm.py

(a) random binary 10000×784, 256 hidden; (b) the 8×8 digits (1797×64, in [0, 1]), 64 hidden;
batch 64. Targets: >= 3× on (a), >= 1.5× on (b).

Two physgen figures per case:

- ``physgen`` (``n_monitor_rows=0``): the updates alone, the same work per sample as
  scikit-learn's ``fit`` (which, without ``verbose``, computes no monitoring values). Its
  fit also validates the data (finite values, domain), as scikit-learn's does. This is the
  figure the targets refer to; both scikit-learn ratios are printed.
- ``physgen + monitoring`` (the default ``n_monitor_rows=1000``): also the per-epoch loss and
  pseudo-likelihood on 1000 rows, which scikit-learn skips.

Threads are pinned to one for both sides (torch.set_num_threads(1) and the BLAS variables
above): with several threads on a shared machine the small products of (b) get slower, not
faster. The fits alternate (physgen, scikit-learn, physgen + monitoring, ...) so that all
see the same machine load, and each one's best of ``--repeats`` is kept. Ratios are
reported for CPU time of the process (robust to other processes on the machine) and for
wall-clock time. The BLAS libraries in use (threadpoolctl: library, version, the kernel
architecture it picked, threads) and the load average are printed first: NumPy's OpenBLAS
picks its kernel by CPU (or by ``OPENBLAS_CORETYPE``), torch uses its own BLAS (MKL on x86).
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from _timing import best_times


def compare(name: str, x: np.ndarray, n_hidden: int, epochs: int, batch_size: int = 64,
            learning_rate: float = 0.05, repeats: int = 5) -> dict:
    """Print samples/s and ratios; return {"cpu": ratio, "wall": ratio,
    "cpu_monitoring": ratio, "wall_monitoring": ratio} (scikit-learn's time / physgen's)."""
    from sklearn.neural_network import BernoulliRBM

    from physgen.models.rbm import RBM

    def ours(n_monitor_rows):
        def fit():
            RBM(n_hidden=n_hidden, training="pcd", k=1, optimizer="sgd", centering=False,
                lr_schedule="constant", epochs=epochs, batch_size=batch_size,
                learning_rate=learning_rate, n_monitor_rows=n_monitor_rows, seed=0).fit(x)
        return fit

    def theirs(data):
        def fit():
            BernoulliRBM(n_components=n_hidden, learning_rate=learning_rate,
                         batch_size=batch_size, n_iter=epochs, random_state=0).fit(data)
        return fit

    x32, x64 = x.astype(np.float32), x.astype(np.float64)
    fits = [ours(0), theirs(x32), ours(1000), theirs(x64)]
    for fit in fits:   # warm-up: imports, allocator, BLAS initialisation
        fit()
    (ours_cpu, ours_wall), (t32_cpu, t32_wall), (mon_cpu, mon_wall), (t64_cpu, t64_wall) = \
        best_times(fits, repeats)
    work = len(x) * epochs
    print(f"{name}:")
    for label, cpu, wall in (("physgen", ours_cpu, ours_wall),
                             ("physgen + monitoring", mon_cpu, mon_wall),
                             ("scikit-learn float32", t32_cpu, t32_wall),
                             ("scikit-learn float64", t64_cpu, t64_wall)):
        print(f"  {label:21s} samples/s  CPU {work / cpu:10,.0f}  wall {work / wall:10,.0f}")
    for label, cpu, wall in (("physgen", ours_cpu, ours_wall),
                             ("physgen + monitoring", mon_cpu, mon_wall)):
        print(f"  ratio {label:21s} vs scikit-learn float32: CPU {t32_cpu / cpu:.2f}x, wall "
              f"{t32_wall / wall:.2f}x;  vs float64: CPU {t64_cpu / cpu:.2f}x, wall "
              f"{t64_wall / wall:.2f}x")
    return {"cpu": t32_cpu / ours_cpu, "wall": t32_wall / ours_wall,
            "cpu_float64": t64_cpu / ours_cpu, "wall_float64": t64_wall / ours_wall,
            "cpu_monitoring": t32_cpu / mon_cpu, "wall_monitoring": t32_wall / mon_wall}


def _print_environment() -> None:
    import torch

    print(f"torch {torch.__version__}, threads: {torch.get_num_threads()}; load average "
          f"{', '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            print(f"  BLAS: {pool.get('internal_api')} {pool.get('version')} "
                  f"({os.path.basename(pool.get('filepath', ''))}), kernel "
                  f"{pool.get('architecture')}, threads {pool.get('num_threads')}")
    print(f"  torch BLAS: {torch.backends.mkl.is_available() and 'MKL' or 'not MKL'}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")


def main(argv=None) -> None:
    import torch
    from sklearn.datasets import load_digits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="fits per side (best kept)")
    parser.add_argument("--case", choices=("a", "b", "both"), default="both")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    _print_environment()
    if args.case in ("a", "both"):
        rng = np.random.default_rng(0)
        random_bits = rng.integers(0, 2, size=(10_000, 784)).astype(np.float32)
        compare("(a) random 10000x784, 256 hidden, batch 64, 1 epoch", random_bits, 256,
                epochs=1, repeats=args.repeats)
    if args.case in ("b", "both"):
        digits = (load_digits().data / 16.0).astype(np.float32)
        compare("(b) digits 1797x64 in [0,1], 64 hidden, batch 64, 10 epochs", digits, 64,
                epochs=10, repeats=args.repeats)


if __name__ == "__main__":
    main()
