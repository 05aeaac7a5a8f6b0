"""Classifier two-sample test: calibrated AUC errors and p-values, detection."""

import numpy as np
import pytest
import scipy.stats
from sklearn.linear_model import LogisticRegression

import physgen as pg
from physgen import metrics


def test_null_auc_is_half_within_its_error_over_seeds():
    # a fast classifier exercises the fold/error/p-value machinery over many seeds
    rng = np.random.default_rng(0)
    z, p = [], []
    for k in range(40):
        r = metrics.c2st(rng.normal(size=(150, 3)), rng.normal(size=(120, 3)),
                         classifier=LogisticRegression(), n_folds=3, seed=k)
        z.append((r.auc.mean - 0.5) / r.auc.stderr)
        p.append(r.p_value)
    assert abs(np.mean(z)) < 3 / np.sqrt(40)
    assert scipy.stats.chi2.sf(np.sum(np.square(z)), df=40) > 0.001
    assert scipy.stats.kstest(p, "uniform").pvalue > 0.001


def test_default_classifier_detects_a_shift_and_is_reproducible():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(200, 4)), rng.normal(size=(200, 4))
    y[:, 1] += 1.0
    boosted = metrics.c2st(x, y, seed=3)
    assert boosted.auc.mean > 0.6 and boosted.p_value < 1e-4 and len(boosted.fold_aucs) == 5
    a = metrics.c2st(x, y, classifier=LogisticRegression(), seed=3)
    b = metrics.c2st(x, y, classifier=LogisticRegression(), seed=3)
    assert a.auc == b.auc and a.p_value == b.p_value and a.classifier == "LogisticRegression"
    forest = metrics.c2st(x[:100], y[:100], classifier="random_forest", n_folds=2, seed=0)
    assert forest.auc.mean > 0.6 and forest.classifier == "random_forest"


def test_hanley_mcneil_error_matches_the_mann_whitney_null():
    from physgen.metrics.c2st import _hanley_mcneil_variance
    assert _hanley_mcneil_variance(0.5, 30, 40) == pytest.approx(71 / (12 * 30 * 40))


def test_bad_inputs():
    x = np.zeros((20, 2))
    with pytest.raises(ValueError, match="classifier"):
        metrics.c2st(x, x, classifier="svm")
    with pytest.raises(ValueError, match="at least 10 samples"):
        metrics.c2st(x[:4], x)
    with pytest.raises(ValueError, match="same features"):
        metrics.c2st(x, np.zeros((20, 3)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.c2st(x, np.full((20, 2), np.nan))


@pytest.mark.slow
def test_gradient_boosting_calibration_and_small_shift_at_n_20000():
    rng = np.random.default_rng(2)
    z = []
    for k in range(20):
        r = metrics.c2st(rng.normal(size=(1000, 4)), rng.normal(size=(1000, 4)), seed=k)
        z.append((r.auc.mean - 0.5) / r.auc.stderr)
    assert scipy.stats.chi2.sf(np.sum(np.square(z)), df=20) > 0.001
    x, y = rng.normal(size=(20_000, 16)), rng.normal(size=(20_000, 16))
    y[:, 3] += 0.1
    assert metrics.c2st(x, y, seed=0).p_value < 0.01


@pytest.mark.slow
def test_ising_on_physics_features_null_and_shift():
    features = lambda s: pg.analysis.ising_feature_matrix(s)[1]  # noqa: E731
    a = features(pg.ising.sample(L=16, temperature=2.269, n_samples=4000, seed=1))
    b = features(pg.ising.sample(L=16, temperature=2.269, n_samples=4000, seed=2))
    c = features(pg.ising.sample(L=16, temperature=2.35, n_samples=4000, seed=3))
    null = metrics.c2st(a, b, seed=0)
    assert abs(null.auc.mean - 0.5) < 3 * null.auc.stderr
    assert metrics.c2st(a, c, seed=0).p_value < 0.01
