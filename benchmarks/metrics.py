"""physgen.metrics.mmd vs a straightforward NumPy MMD, and the full pg.evaluate.

    python benchmarks/metrics.py                # both parts (several minutes on 2 cores)
    python benchmarks/metrics.py --part mmd     # (a) only
    python benchmarks/metrics.py --part evaluate
    python benchmarks/metrics.py --threads 1    # one thread for PyTorch, BLAS and OpenMP

(a) Unbiased MMD² with a Gaussian kernel (fixed bandwidth) between 20 000 and 20 000
    samples of dimension 256. The NumPy peer is the textbook formula in float64:
    ‖x‖² + ‖y‖² - 2 x·y with np.dot, np.exp and sums for K_xx, K_yy and K_xy. The full
    matrices would take 3 × 20 000² × 8 B = 9.6 GB (plus temporaries), more than this
    machine can spare, so the peer walks over blocks of 2 048 rows against all 20 000
    columns (≈ 330 MB per temporary): the same arithmetic, in bounded memory. physgen
    walks over 2 048 × 2 048 blocks of the pooled samples, upper triangle only, in
    float32 PyTorch. Each runs in its own process, which reports its time and the
    growth of its peak resident memory over the loaded data. Target: ≥ 5× faster.
(b) pg.evaluate on 10 000 real and 10 000 generated L = 16 Ising configurations
    (T = 2.269 and 2.30) with the default settings, figures rendered too.
    Target: under 60 s.

Timings on a machine shared with other jobs are noisy: run it on a quiet machine. On a
busy one, ``--threads 1`` gives steadier numbers (threads that wait for a busy core slow
both PyTorch and OpenMP-based code down).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

N, DIM, BANDWIDTH, BLOCK = 20_000, 256, 16.0, 2048


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, DIM))
    y = rng.normal(size=(N, DIM))
    y[:, 0] += 0.1
    return x, y


def numpy_mmd2(x: np.ndarray, y: np.ndarray, bandwidth: float, block: int = BLOCK) -> float:
    """Unbiased MMD², textbook float64 NumPy, by row blocks to bound memory."""
    def kernel_sum(a, b, same):
        total = 0.0
        b_sq = (b * b).sum(axis=1)
        for start in range(0, len(a), block):
            rows = a[start:start + block]
            d2 = (rows * rows).sum(axis=1)[:, None] + b_sq[None, :] - 2.0 * rows @ b.T
            total += np.exp(-np.maximum(d2, 0.0) / (2.0 * bandwidth**2)).sum()
        return total - (len(a) if same else 0.0)  # drop the i = j terms, k(x, x) = 1
    m, n = len(x), len(y)
    return (kernel_sum(x, x, True) / (m * (m - 1)) + kernel_sum(y, y, True) / (n * (n - 1))
            - 2.0 * kernel_sum(x, y, False) / (m * n))


def _limit_threads(threads: int | None) -> None:
    if threads is None:
        return
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(limits=threads)


def _child(which: str, threads: int | None) -> None:
    """Run one implementation; print {"seconds", "value", "extra_mb"} as JSON."""
    _limit_threads(threads)
    x, y = _data()
    if which == "torch":
        import torch  # noqa: F401  (imported before the baseline, like NumPy)

        from physgen.metrics import mmd
        run = lambda: mmd(x, y, bandwidth=BANDWIDTH)  # noqa: E731
    else:
        run = lambda: numpy_mmd2(x, y, BANDWIDTH)  # noqa: E731
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    value = run()
    seconds = time.perf_counter() - started
    extra = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline) / 1024
    print(json.dumps({"seconds": seconds, "value": float(value), "extra_mb": extra}))


def _in_process(which: str, threads: int | None) -> dict:
    command = [sys.executable, __file__, "--child", which]
    if threads is not None:
        command += ["--threads", str(threads)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_mmd(threads: int | None = None) -> float:
    import torch

    print(f"(a) MMD² {N} × {N} samples, dimension {DIM}, Gaussian bandwidth {BANDWIDTH}; "
          f"threads: {threads or f'library defaults (torch {torch.get_num_threads()})'}")
    ours = _in_process("torch", threads)
    peer = _in_process("numpy", threads)
    ratio = peer["seconds"] / ours["seconds"]
    print(f"    physgen (torch float32, 2048² blocks): {ours['seconds']:.1f} s, "
          f"peak memory +{ours['extra_mb']:.0f} MB, MMD² = {ours['value']:.6e}")
    print(f"    NumPy (float64, 2048-row blocks):      {peer['seconds']:.1f} s, "
          f"peak memory +{peer['extra_mb']:.0f} MB, MMD² = {peer['value']:.6e}")
    print(f"    ratio {ratio:.1f}x (target >= 5x); relative difference of the values "
          f"{abs(ours['value'] - peer['value']) / abs(peer['value']):.1e}")
    return ratio


def bench_evaluate(threads: int | None = None) -> float:
    import tempfile

    import physgen as pg

    _limit_threads(threads)
    real = pg.ising.sample(L=16, temperature=2.269, n_samples=10_000, seed=1)
    fake = pg.ising.sample(L=16, temperature=2.30, n_samples=10_000, seed=2)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        evaluation = pg.evaluate(real, fake, temperature=2.269, seed=0)
        computed = time.perf_counter() - started
        evaluation.to_html(out)
        evaluation.to_json(f"{out}/metrics.json")
        total = time.perf_counter() - started
    print(f"(b) evaluate 10000 + 10000 L=16 Ising samples: {total:.1f} s "
          f"({computed:.1f} s metrics, {total - computed:.1f} s figures and files); "
          f"ratio to the 60 s target {total / 60:.2f} (target < 1); "
          f"{evaluation.n_differs} checks differ")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("mmd", "evaluate", "all"), default="all")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for PyTorch, BLAS and OpenMP (default: their own)")
    parser.add_argument("--child", choices=("torch", "numpy"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.threads)
        return
    if args.part in ("mmd", "all"):
        bench_mmd(args.threads)
    if args.part in ("evaluate", "all"):
        bench_evaluate(args.threads)


if __name__ == "__main__":
    main()
