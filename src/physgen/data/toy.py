"""Toy distributions for testing generative models, and a mode-coverage score.

Every sampler takes ``n_samples`` and ``seed`` (see :mod:`physgen.random`) and
returns a float64 array of shape ``(n_samples, 2)``; scikit-learn's dataset
generators do the drawing, with the seed turned into their ``random_state``.
scikit-learn is imported inside the functions so that ``import physgen.data``
stays fast.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from physgen.data.validate import validate_array
from physgen.random import as_generator


def _random_state(seed) -> int:
    # sklearn takes a RandomState seed (< 2**32); drawing it from our generator
    # threads a Generator passed as ``seed`` through like every other physgen function
    return int(as_generator(seed).integers(0, 2**32 - 1))


def _check_count(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _check_scale(value, name: str, *, allow_zero: bool) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value}")
    return value


def ring_modes(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """Centres of ``n_modes`` Gaussians evenly spaced on a circle.

    Returns
    -------
    np.ndarray, shape (n_modes, 2)
        Mode ``k`` sits at angle ``2 pi k / n_modes``, starting on the +x axis.
    """
    n_modes = _check_count(n_modes, "n_modes")
    radius = _check_scale(radius, "radius", allow_zero=False)
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.column_stack([np.cos(angles), np.sin(angles)])


def grid_modes(n_per_side: int = 5, spacing: float = 2.0) -> np.ndarray:
    """Centres of an ``n_per_side`` x ``n_per_side`` grid of Gaussians, centred on 0.

    Returns
    -------
    np.ndarray, shape (n_per_side**2, 2)
        Row-major: mode ``i * n_per_side + j`` has x from ``i`` and y from ``j``.
    """
    n_per_side = _check_count(n_per_side, "n_per_side")
    spacing = _check_scale(spacing, "spacing", allow_zero=False)
    axis = (np.arange(n_per_side) - (n_per_side - 1) / 2) * spacing
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    return np.column_stack([xs.ravel(), ys.ravel()])


def _mixture(n_samples, modes, std, seed, return_labels):
    from sklearn.datasets import make_blobs

    n_samples = _check_count(n_samples, "n_samples")
    std = _check_scale(std, "std", allow_zero=True)
    # make_blobs gives each mode an equal share (n // n_modes, the remainder to the
    # first modes) and shuffles: a stratified draw from the equal-weight mixture
    x, labels = make_blobs(n_samples=n_samples, centers=modes, cluster_std=std,
                           random_state=_random_state(seed))
    x = x.astype(np.float64, copy=False)
    return (x, labels.astype(np.int64)) if return_labels else x


def gaussian_ring(n_samples: int, n_modes: int = 8, radius: float = 2.0, std: float = 0.02,
                  seed=None, return_labels: bool = False):
    """Equal-weight mixture of isotropic Gaussians on a ring (the classic 8-Gaussian test).

    Parameters
    ----------
    n_samples : int
    n_modes : int
        Number of Gaussians, centred at :func:`ring_modes` ``(n_modes, radius)``.
    radius : float
    std : float
        Standard deviation of each Gaussian, per coordinate.
    seed : seed-like
    return_labels : bool
        Also return the index of the mode each sample was drawn from.

    Returns
    -------
    x : np.ndarray of float64, shape (n_samples, 2)
    labels : np.ndarray of int64, shape (n_samples,)
        Only when ``return_labels``.
    """
    return _mixture(n_samples, ring_modes(n_modes, radius), std, seed, return_labels)


def gaussian_grid(n_samples: int, n_per_side: int = 5, spacing: float = 2.0, std: float = 0.05,
                  seed=None, return_labels: bool = False):
    """Equal-weight mixture of isotropic Gaussians on a square grid (25 modes by default).

    Parameters
    ----------
    n_samples : int
    n_per_side : int
        The modes are :func:`grid_modes` ``(n_per_side, spacing)``.
    spacing : float
        Distance between neighbouring modes.
    std : float
        Standard deviation of each Gaussian, per coordinate.
    seed : seed-like
    return_labels : bool
        Also return the index of the mode each sample was drawn from.

    Returns
    -------
    x : np.ndarray of float64, shape (n_samples, 2)
    labels : np.ndarray of int64, shape (n_samples,)
        Only when ``return_labels``.
    """
    return _mixture(n_samples, grid_modes(n_per_side, spacing), std, seed, return_labels)


def two_moons(n_samples: int, noise: float = 0.05, seed=None, return_labels: bool = False):
    """Two interleaving half circles (``sklearn.datasets.make_moons``).

    Parameters
    ----------
    n_samples : int
    noise : float
        Standard deviation of Gaussian noise added to each coordinate.
    seed : seed-like
    return_labels : bool
        Also return which moon (0 or 1) each sample belongs to.

    Returns
    -------
    x : np.ndarray of float64, shape (n_samples, 2)
        Roughly within x in [-1, 2], y in [-0.5, 1].
    labels : np.ndarray of int64, shape (n_samples,)
        Only when ``return_labels``.
    """
    from sklearn.datasets import make_moons

    n_samples = _check_count(n_samples, "n_samples")
    noise = _check_scale(noise, "noise", allow_zero=True)
    x, labels = make_moons(n_samples=n_samples, noise=noise, random_state=_random_state(seed))
    x = x.astype(np.float64, copy=False)
    return (x, labels.astype(np.int64)) if return_labels else x


def swiss_roll(n_samples: int, noise: float = 0.05, seed=None, return_labels: bool = False):
    """The 2-D Swiss roll: ``sklearn.datasets.make_swiss_roll`` seen from above.

    scikit-learn's roll is 3-D, ``(t cos t, h, t sin t)`` with ``t`` uniform in
    ``[1.5 pi, 4.5 pi]`` and height ``h`` uniform in ``[0, 21]``; dropping the
    height (keeping coordinates x and z) leaves the 2-D spiral
    ``(t cos t, t sin t)``, within about [-11, 13] on each axis.

    Parameters
    ----------
    n_samples : int
    noise : float
        Standard deviation of Gaussian noise added to each coordinate.
    seed : seed-like
    return_labels : bool
        Also return ``t``, the position along the spiral (a continuous label).

    Returns
    -------
    x : np.ndarray of float64, shape (n_samples, 2)
    t : np.ndarray of float64, shape (n_samples,)
        Only when ``return_labels``.
    """
    from sklearn.datasets import make_swiss_roll

    n_samples = _check_count(n_samples, "n_samples")
    noise = _check_scale(noise, "noise", allow_zero=True)
    x3, t = make_swiss_roll(n_samples=n_samples, noise=noise, random_state=_random_state(seed))
    x = np.ascontiguousarray(x3[:, [0, 2]], dtype=np.float64)
    return (x, t.astype(np.float64)) if return_labels else x


def digits(binarize: bool = False):
    """The 1797 scikit-learn handwritten digits (8 x 8 images, bundled, no download).

    Parameters
    ----------
    binarize : bool
        Return bits: a pixel is 1 when its intensity is at least half of the
        maximum (8 of 16), else 0.

    Returns
    -------
    x : np.ndarray, shape (1797, 8, 8)
        float64 in [0, 1] (intensities 0..16 divided by 16), or int8 in {0, 1}
        when ``binarize``.
    labels : np.ndarray of int64, shape (1797,)
        The digit shown, 0..9.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images / 16.0
    x = (images >= 0.5).astype(np.int8) if binarize else images.astype(np.float64)
    return x, bunch.target.astype(np.int64)


class ModeCoverage(NamedTuple):
    """Result of :func:`mode_coverage` (unpacks as ``n_covered, fraction_within``)."""

    n_covered: int
    fraction_within: float


def mode_coverage(samples, modes, std: float, n_sigma: float = 3.0,
                  min_share: float = 0.1) -> ModeCoverage:
    """How many modes of a mixture a set of samples covers, and how many samples are good.

    Rule: each sample is assigned to its nearest mode; it is *within* when its
    distance to that mode is at most ``n_sigma * std``. A mode is *covered* when
    the samples within it number at least ``min_share`` times its expected share
    under the equal-weight mixture, ``n_samples / n_modes`` (and at least 1). With
    the defaults, 1000 samples from an 8-mode ring cover a mode when at least
    13 of them lie within 3 sigma of it (10 % of the 125 it should get): a model
    that has all but dropped a mode does not get credit for a few stray samples.

    For the ring and grid above, 3 sigma in 2-D contains 98.9 % of a Gaussian's
    mass, so true samples give ``fraction_within`` about 0.989.

    Parameters
    ----------
    samples : array-like, shape (n_samples, d)
    modes : array-like, shape (n_modes, d)
    std : float
        Standard deviation of each mode (per coordinate), > 0.
    n_sigma : float
        Radius of the "within" ball, in units of ``std``.
    min_share : float
        Fraction of the expected per-mode count a mode needs to be covered, in (0, 1].

    Returns
    -------
    ModeCoverage
        ``(n_covered, fraction_within)``: number of covered modes (int) and the
        fraction of all samples that are within ``n_sigma * std`` of their
        nearest mode (float).
    """
    from sklearn.metrics import pairwise_distances_argmin_min

    samples = validate_array(samples, "samples")
    modes = validate_array(modes, "modes")
    if samples.ndim != 2 or modes.ndim != 2 or samples.shape[1] != modes.shape[1]:
        raise ValueError(f"samples {samples.shape} and modes {modes.shape} must be 2-D with "
                         "the same number of columns; expected (n_samples, d) and (n_modes, d)")
    std = _check_scale(std, "std", allow_zero=False)
    n_sigma = _check_scale(n_sigma, "n_sigma", allow_zero=False)
    if not 0 < min_share <= 1:
        raise ValueError(f"min_share must be in (0, 1], got {min_share}")
    nearest, distance = pairwise_distances_argmin_min(
        samples.astype(np.float64), modes.astype(np.float64))
    within = distance <= n_sigma * std
    counts = np.bincount(nearest[within], minlength=len(modes))
    needed = max(1.0, min_share * len(samples) / len(modes))
    return ModeCoverage(int(np.sum(counts >= needed)), float(np.mean(within)))
