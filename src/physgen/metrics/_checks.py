"""Input validation shared by the metrics: samples in, clean 2-D float arrays out."""

from __future__ import annotations

import numpy as np


def as_samples(x, name: str = "x", *, min_samples: int = 2) -> np.ndarray:
    """Validate samples and flatten each one into a feature vector.

    Parameters
    ----------
    x : array_like, shape (n, ...)
        ``n`` samples; every sample may itself be an array (a lattice, an image), which
        is flattened row-major into ``prod(shape[1:])`` features. A 1-D array is ``n``
        samples of one feature.
    name : str
        How the argument is called in error messages.
    min_samples : int

    Returns
    -------
    np.ndarray of float64, shape (n, n_features)
        A new array: inputs are never modified.
    """
    a = np.asarray(x)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"{name} must be a numeric array of shape (n_samples, ...), "
                         f"got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real-valued, got dtype {a.dtype}")
    if a.ndim == 0:
        raise ValueError(f"{name} must be an array of shape (n_samples, ...), got a scalar")
    if a.shape[0] < min_samples:
        what = "is empty" if a.shape[0] == 0 else f"has {a.shape[0]} sample(s)"
        raise ValueError(f"{name} {what}; need at least {min_samples} samples "
                         f"(shape (n_samples, ...))")
    flat = a.reshape(a.shape[0], -1).astype(np.float64)
    if flat.shape[1] == 0:
        raise ValueError(f"{name} has samples with no features (shape {a.shape})")
    finite = np.isfinite(flat)
    if not finite.all():
        n_bad = int((~finite).sum())
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s); "
                         f"metrics need finite samples")
    return flat


def as_pair(x, y, names: tuple[str, str] = ("x", "y"), *, min_samples: int = 2):
    """Validate two samples that must describe the same features.

    Returns
    -------
    x, y : np.ndarray of float64, shapes (n, d) and (m, d)
    """
    a = as_samples(x, names[0], min_samples=min_samples)
    b = as_samples(y, names[1], min_samples=min_samples)
    if a.shape[1] != b.shape[1]:
        shape_x, shape_y = np.shape(x)[1:], np.shape(y)[1:]
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same features per sample: "
            f"{names[0]} has {a.shape[1]} (sample shape {shape_x}), "
            f"{names[1]} has {b.shape[1]} (sample shape {shape_y})")
    return a, b


def check_count(name: str, value, minimum: int = 1) -> int:
    """An integer setting such as ``n_permutations``: at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


def check_test_counts(n_permutations, n_resamples) -> tuple[int, int]:
    """Settings of a permutation test: ≥ 1 permutation; 0 (no error) or ≥ 2 resamples."""
    n_permutations = check_count("n_permutations", n_permutations)
    n_resamples = check_count("n_resamples", n_resamples, minimum=0)
    if n_resamples == 1:
        raise ValueError("n_resamples must be 0 (no error) or at least 2")
    return n_permutations, n_resamples
