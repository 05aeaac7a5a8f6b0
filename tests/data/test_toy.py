"""Toy distributions against their definitions, with statistical checks at fixed seeds."""

import numpy as np
import pytest
import scipy.stats
from sklearn.datasets import load_digits

import physgen
from physgen.data import (
    digits,
    gaussian_grid,
    gaussian_ring,
    grid_modes,
    mode_coverage,
    ring_modes,
    swiss_roll,
    two_moons,
)


def test_public_names():
    for name in ("load", "save", "Dataset", "validate_array", "toy", "gaussian_ring",
                 "ring_modes", "gaussian_grid", "grid_modes", "two_moons", "swiss_roll",
                 "digits", "mode_coverage"):
        assert hasattr(physgen.data, name), name
        assert name in physgen.data.__all__


def test_ring_modes():
    modes = ring_modes(8, 2.0)
    assert modes.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(modes, axis=1), 2.0)
    np.testing.assert_allclose(modes[0], [2.0, 0.0])
    np.testing.assert_allclose(modes[2], [0.0, 2.0], atol=1e-15)
    # neighbours are equally spaced: chord 2 r sin(pi / n)
    chords = np.linalg.norm(modes - np.roll(modes, 1, axis=0), axis=1)
    np.testing.assert_allclose(chords, 2 * 2.0 * np.sin(np.pi / 8))


def test_grid_modes():
    modes = grid_modes(5, 2.0)
    assert modes.shape == (25, 2)
    np.testing.assert_allclose(modes.mean(axis=0), 0.0, atol=1e-12)
    assert set(np.round(modes[:, 0], 12)) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    np.testing.assert_allclose(modes[1], [-4.0, -2.0])  # row-major: i*n + j
    assert grid_modes(1, 3.0).tolist() == [[0.0, 0.0]]


@pytest.mark.parametrize("sampler, modes, std", [
    (lambda **k: gaussian_ring(4000, **k), ring_modes(8, 2.0), 0.02),
    (lambda **k: gaussian_grid(5000, **k), grid_modes(5, 2.0), 0.05),
    (lambda **k: gaussian_ring(3000, n_modes=3, radius=1.0, std=0.1, **k),
     ring_modes(3, 1.0), 0.1),
])
def test_mixture_samples_match_their_definition(sampler, modes, std):
    x, labels = sampler(seed=0, return_labels=True)
    assert x.dtype == np.float64 and x.shape[1] == 2 and labels.dtype == np.int64
    # an equal share per mode (make_blobs stratifies)
    counts = np.bincount(labels, minlength=len(modes))
    assert counts.max() - counts.min() <= 1
    # residuals from the labelled mode are N(0, std^2) per coordinate: KS test at a fixed seed
    residual = (x - modes[labels]) / std
    for column in residual.T:
        assert scipy.stats.kstest(column, "norm").pvalue > 1e-3
    # the coordinates are independent: correlation within 4 standard errors of 0
    r = np.corrcoef(residual.T)[0, 1]
    assert abs(r) < 4 / np.sqrt(len(x))


def test_seeds_thread_through():
    np.testing.assert_array_equal(gaussian_ring(50, seed=3), gaussian_ring(50, seed=3))
    assert not np.array_equal(gaussian_ring(50, seed=3), gaussian_ring(50, seed=4))
    generator_a, generator_b = np.random.default_rng(9), np.random.default_rng(9)
    first = two_moons(20, seed=generator_a)
    np.testing.assert_array_equal(first, two_moons(20, seed=generator_b))
    # a Generator is consumed, so the next call differs
    assert not np.array_equal(two_moons(20, seed=generator_a), first)
    for sampler in (gaussian_grid, swiss_roll, two_moons):
        np.testing.assert_array_equal(sampler(30, seed=1), sampler(30, seed=1))


def test_two_moons():
    x, labels = two_moons(2000, noise=0.0, seed=0, return_labels=True)
    assert x.shape == (2000, 2) and x.dtype == np.float64
    # noiseless moons are unit half circles: centre (0, 0) for label 0, (1, 0.5) for label 1
    np.testing.assert_allclose(np.linalg.norm(x[labels == 0], axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(x[labels == 1] - [1.0, 0.5], axis=1), 1.0)
    assert np.all(x[labels == 0, 1] >= -1e-12) and np.all(x[labels == 1, 1] <= 0.5 + 1e-12)
    noisy = two_moons(2000, noise=0.05, seed=0)
    assert 0.02 < np.abs(noisy - x).std() < 0.08


def test_swiss_roll_is_the_xz_projection():
    x, t = swiss_roll(1000, noise=0.0, seed=0, return_labels=True)
    assert x.shape == (1000, 2) and x.dtype == np.float64
    np.testing.assert_allclose(x, np.column_stack([t * np.cos(t), t * np.sin(t)]))
    assert t.min() >= 1.5 * np.pi and t.max() <= 4.5 * np.pi
    assert np.abs(x).max() < 14.2


def test_digits():
    x, labels = digits()
    reference = load_digits()
    assert x.shape == (1797, 8, 8) and x.dtype == np.float64
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(x * 16, reference.images)
    np.testing.assert_array_equal(labels, reference.target)
    bits, labels_b = digits(binarize=True)
    assert bits.dtype == np.int8 and set(np.unique(bits)) == {0, 1}
    np.testing.assert_array_equal(bits, reference.images >= 8)
    physgen.data.validate_array(bits, expect="bits")


def test_mode_coverage_on_true_samples():
    x = gaussian_ring(2000, seed=1)
    coverage = mode_coverage(x, ring_modes(), std=0.02)
    n_covered, fraction = coverage
    assert n_covered == 8 and coverage.n_covered == 8
    # fraction within 3 sigma of a 2-D Gaussian: 1 - exp(-9/2); binomial error
    p = 1 - np.exp(-4.5)
    assert abs(fraction - p) < 4 * np.sqrt(p * (1 - p) / 2000)
    grid = gaussian_grid(5000, seed=2)
    assert mode_coverage(grid, grid_modes(), std=0.05).n_covered == 25


def test_mode_coverage_counts_dropped_modes():
    x, labels = gaussian_ring(1600, seed=0, return_labels=True)
    modes = ring_modes()
    # drop two modes entirely and thin a third to 10 samples (below 10 % of its 200)
    kept = np.concatenate([np.flatnonzero(labels < 5), np.flatnonzero(labels == 5)[:10]])
    coverage = mode_coverage(x[kept], modes, std=0.02)
    assert coverage.n_covered == 5
    assert coverage.fraction_within > 0.97
    # with a looser rule the thinned mode counts
    assert mode_coverage(x[kept], modes, std=0.02, min_share=0.01).n_covered == 6


def test_mode_coverage_of_blurry_samples():
    # samples smeared evenly over the ring are near every mode but rarely within 3 sigma
    angles = np.linspace(0, 2 * np.pi, 8000, endpoint=False)
    smeared = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    n_covered, fraction = mode_coverage(smeared, ring_modes(), std=0.02)
    # an arc of +-0.06 around each mode out of 2 pi * 2: fraction 8 * 0.12 / (4 pi) = 7.6 %,
    # about 76 samples a mode, short of 10 % of the 1000 each should hold
    assert fraction == pytest.approx(8 * 0.12 / (4 * np.pi), abs=2e-3)
    assert n_covered == 0
    assert mode_coverage(smeared, ring_modes(), std=0.02, min_share=0.05).n_covered == 8
    # collapsed onto one point: one mode
    assert mode_coverage(np.tile(ring_modes()[3], (100, 1)), ring_modes(), 0.02) == (1, 1.0)


@pytest.mark.parametrize("call, match", [
    (lambda: gaussian_ring(0), "n_samples must be at least 1"),
    (lambda: gaussian_ring(10.5), "n_samples must be an integer"),
    (lambda: gaussian_ring(10, n_modes=0), "n_modes must be at least 1"),
    (lambda: gaussian_ring(10, std=-1), r"std must be a finite number >= 0"),
    (lambda: gaussian_grid(10, spacing=0), r"spacing must be a finite number > 0"),
    (lambda: two_moons(10, noise=np.nan), r"noise must be a finite number >= 0"),
    (lambda: ring_modes(8, radius=-2), r"radius must be a finite number > 0"),
    (lambda: gaussian_ring(10, seed=1.5), r"seed must be an int"),
    (lambda: mode_coverage(np.zeros((3, 2)), np.zeros((2, 3)), 0.1), r"same number of columns"),
    (lambda: mode_coverage(np.zeros((3, 2)), np.zeros((2, 2)), 0), r"std must be a finite"),
    (lambda: mode_coverage(np.zeros(3), np.zeros((2, 2)), 0.1), r"samples is 1-D"),
    (lambda: mode_coverage(np.full((3, 2), np.nan), np.zeros((2, 2)), 0.1), r"samples contains"),
    (lambda: mode_coverage(np.zeros((3, 2)), np.zeros((2, 2)), 0.1, min_share=0),
     r"min_share must be in \(0, 1\]"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
