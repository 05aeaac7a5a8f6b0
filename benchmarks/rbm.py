"""physgen RBM vs scikit-learn BernoulliRBM: training samples per second, same settings.

Both use persistent CD-1 (scikit-learn's only algorithm) with plain SGD, one chain per
batch row and the same learning rate, batch size, hidden units and epochs.

    python benchmarks/rbm.py            # (a) random 10000×784, 256 hidden; (b) digits, 64 hidden

Targets: >= 3× on (a), >= 1.5× on (b).
"""

from __future__ import annotations

import time

import numpy as np


def _rate(fit, n_samples: int, epochs: int, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        fit()
        best = min(best, time.perf_counter() - started)
    return n_samples * epochs / best


def compare(name: str, x: np.ndarray, n_hidden: int, epochs: int, batch_size: int = 64,
            learning_rate: float = 0.05) -> float:
    from sklearn.neural_network import BernoulliRBM

    from physgen.models.rbm import RBM

    ours = RBM(n_hidden=n_hidden, training="pcd", k=1, optimizer="sgd", epochs=epochs,
               batch_size=batch_size, learning_rate=learning_rate, seed=0)
    theirs = BernoulliRBM(n_components=n_hidden, learning_rate=learning_rate,
                          batch_size=batch_size, n_iter=epochs, random_state=0)
    ours_rate = _rate(lambda: ours.fit(x), len(x), epochs)
    theirs_rate = _rate(lambda: theirs.fit(x), len(x), epochs)
    ratio = ours_rate / theirs_rate
    print(f"{name}: physgen {ours_rate:,.0f} samples/s, scikit-learn {theirs_rate:,.0f} "
          f"samples/s, ratio {ratio:.2f}x")
    return ratio


def main() -> None:
    import torch
    from sklearn.datasets import load_digits

    print(f"torch threads: {torch.get_num_threads()}")
    rng = np.random.default_rng(0)
    random_bits = rng.integers(0, 2, size=(10_000, 784)).astype(np.float32)
    compare("(a) random 10000x784, 256 hidden, batch 64", random_bits, 256, epochs=2)
    digits = (load_digits().data / 16.0).astype(np.float32)
    compare("(b) digits 1797x64 in [0,1], 64 hidden, batch 64", digits, 64, epochs=10)


if __name__ == "__main__":
    main()
