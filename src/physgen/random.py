"""Seeds in, generators out: randomness is always an argument, never global state.

A ``seed`` anywhere in physgen may be ``None`` (fresh entropy), an ``int``, a
:class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`.
"""

from __future__ import annotations

import numpy as np

SeedLike = "int | np.random.Generator | np.random.SeedSequence | None"


def as_generator(seed=None) -> np.random.Generator:
    """Return a NumPy ``Generator`` for ``seed`` (a Generator is passed through)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, float)) or (seed is not None and not isinstance(
            seed, (int, np.integer, np.random.SeedSequence))):
        raise ValueError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(seed)


def seed_int(seed=None) -> int:
    """Draw one 63-bit integer seed from ``seed`` (for torch, or to record in metadata)."""
    return int(as_generator(seed).integers(0, 2**63 - 1))


def spawn(seed, n: int) -> list[np.random.Generator]:
    """``n`` statistically independent generators (per chain, per rank, per worker)."""
    return as_generator(seed).spawn(n)


def stream_states(seed, shape) -> np.ndarray:
    """Independent 64-bit states for the compiled samplers' per-stream generators.

    Parameters
    ----------
    seed : seed-like
    shape : tuple of int
        One state per stream, e.g. ``(n_chains, L)`` for per-row streams.

    Returns
    -------
    np.ndarray of uint64, shape ``shape``
    """
    return as_generator(seed).integers(0, 2**64, size=shape, dtype=np.uint64, endpoint=False)


def torch_generator(seed=None, device="cpu"):
    """A seeded ``torch.Generator`` on ``device``."""
    import torch

    generator = torch.Generator(device=device)
    generator.manual_seed(seed_int(seed))
    return generator
