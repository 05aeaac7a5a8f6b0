"""k-NN precision and recall on configurations with known answers."""

import numpy as np
import pytest
import scipy.stats

from physgen import metrics


def test_hand_computed_example():
    real = np.array([[0.0], [1.0], [2.0], [10.0]])
    fake = np.array([[0.5], [20.0]])
    # k = 1 radii of real: 1, 1, 1, 8; 0.5 is inside, 20 is not (10 + 8 = 18)
    # radii of fake (k = 1): 19.5 each; every real point lies within 19.5 of 0.5
    result = metrics.precision_recall(real, fake, k=1)
    assert result.precision == 0.5 and result.recall == 1.0


def test_identical_samples_and_dropped_modes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    same = metrics.precision_recall(x, x.copy())
    assert same.precision == 1.0 and same.recall == 1.0
    two_modes = np.r_[rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) + 20]
    one_mode = rng.normal(size=(300, 2))
    pr = metrics.precision_recall(two_modes, one_mode, return_estimate=True)
    assert pr.precision.mean > 0.9 and abs(pr.recall.mean - 0.5) < 0.06
    assert pr.recall.stderr == pytest.approx(np.sqrt(0.25 / 599), rel=0.1)


def test_spins_with_tied_distances_count_as_inside():
    # 4 spins; fake equals real flipped at one site: at Hamming distance 1 (Euclidean 2)
    real = np.array([[1, 1, 1, 1], [1, 1, 1, -1], [-1, -1, -1, -1], [-1, -1, -1, 1]])
    fake = np.array([[1, 1, -1, 1], [-1, -1, 1, -1]])
    assert metrics.precision_recall(real, fake, k=1).precision == 1.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="more than 3"):
        metrics.precision_recall(np.zeros((3, 2)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="same features"):
        metrics.precision_recall(np.zeros((10, 2)), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="k must"):
        metrics.precision_recall(np.zeros((10, 2)), np.zeros((10, 2)), k=0)


def test_permutation_test_matches_the_plain_function_and_is_calibrated():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(80, 3)), rng.normal(size=(40, 3)) + 0.3
    result = metrics.precision_recall_test(real, fake, n_permutations=5, seed=1)
    # the same split, recomputed with precision_recall
    replay = np.random.default_rng(1)
    order = replay.permutation(80)
    part_a, part_b = real[order[:40]], real[order[40:80]]
    part_f = fake[np.sort(replay.choice(40, 40, replace=False))]
    observed = metrics.precision_recall(part_a, part_f)
    baseline = metrics.precision_recall(part_a, part_b)
    for name in ("precision", "recall"):
        test = getattr(result, name)
        assert test.details["value"] == getattr(observed, name)
        assert test.details["baseline"] == getattr(baseline, name)
        assert test.statistic == pytest.approx(test.details["value"] - test.details["baseline"])
    p_recall = [metrics.precision_recall_test(rng.normal(size=(300, 4)), rng.normal(size=(150, 4)),
                                              n_permutations=49, seed=k).recall.p_value
                for k in range(30)]
    assert scipy.stats.kstest(p_recall, "uniform").pvalue > 0.001
    dropped = np.r_[rng.normal(size=(150, 2)), rng.normal(size=(150, 2)) + 8]
    assert metrics.precision_recall_test(dropped, rng.normal(size=(150, 2)), n_permutations=99,
                                         seed=0).recall.p_value <= 0.01
