"""Classifier two-sample test: can a classifier tell real from generated samples?"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.stats

from physgen.metrics._checks import as_pair, check_count
from physgen.random import as_generator
from physgen.stats import Estimate

CLASSIFIERS = ("gradient_boosting", "random_forest")


@dataclass(frozen=True)
class C2STResult:
    """Outcome of :func:`c2st`.

    Attributes
    ----------
    auc : Estimate
        Cross-validated ROC AUC (0.5: indistinguishable; 1: perfectly separated) with
        its standard error.
    p_value : float
        One-sided p-value of AUC > 0.5 from the Mann–Whitney null of each held-out fold.
    fold_aucs : np.ndarray, shape (n_folds,)
    classifier : str
    """

    auc: Estimate
    p_value: float
    fold_aucs: np.ndarray = field(repr=False)
    classifier: str = ""

    @property
    def statistic(self) -> float:
        return float(self.auc.mean)


def _make_classifier(classifier, random_state: int):
    if isinstance(classifier, str):
        if classifier == "gradient_boosting":
            from sklearn.ensemble import HistGradientBoostingClassifier
            # No early stopping: its internal validation split would make the folds
            # unequal and the result depend on an extra random split.
            return HistGradientBoostingClassifier(max_iter=100, early_stopping=False,
                                                  random_state=random_state)
        if classifier == "random_forest":
            from sklearn.ensemble import RandomForestClassifier
            return RandomForestClassifier(n_estimators=200, min_samples_leaf=5, n_jobs=1,
                                          random_state=random_state)
        raise ValueError(f"classifier must be one of {CLASSIFIERS} or a scikit-learn "
                         f"classifier, got {classifier!r}")
    from sklearn.base import clone
    if not hasattr(classifier, "fit") or not hasattr(classifier, "predict_proba"):
        raise ValueError("classifier must be a name or a scikit-learn classifier with "
                         "fit and predict_proba")
    model = clone(classifier)
    if "random_state" in model.get_params():
        model.set_params(random_state=random_state)
    return model


def _hanley_mcneil_variance(auc: float, n_pos: int, n_neg: int) -> float:
    """Variance of an empirical AUC (Hanley & McNeil 1982); at AUC = ½ it equals the
    exact Mann–Whitney null variance (n_pos + n_neg + 1) / (12 n_pos n_neg)."""
    q1, q2 = auc / (2.0 - auc), 2.0 * auc**2 / (1.0 + auc)
    return (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2)
            + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)


def c2st(x, y, *, classifier="gradient_boosting", n_folds: int = 5, seed=None,
         n_threads: int | None = 1) -> C2STResult:
    """Classifier two-sample test with cross-validated ROC AUC (Lopez-Paz & Oquab 2017).

    A classifier is trained to tell x (label 0) from y (label 1) on ``n_folds - 1``
    folds and scored on the held-out fold; every sample is held out once.

    Parameters
    ----------
    x : array_like, shape (n, ...)
    y : array_like, shape (m, ...)
        Samples flattened to feature vectors.
    classifier : {"gradient_boosting", "random_forest"} or scikit-learn classifier
        scikit-learn's HistGradientBoostingClassifier (100 iterations) or a
        RandomForestClassifier (200 trees); an estimator object is cloned.
    n_folds : int
        Stratified folds (each needs at least 2 samples of each class).
    seed : seed-like
        Fixes the folds and the classifier's randomness.
    n_threads : int or None
        OpenMP/BLAS threads while fitting (threadpoolctl); None keeps the libraries'
        defaults. One by default: the fits are small, and on a shared machine OpenMP's
        busy-waiting made gradient boosting about ten times slower with two threads
        than with one (measured on 16 000 × 10 features).

    Returns
    -------
    C2STResult
        ``auc``: the mean of the fold AUCs, with the error from the Hanley–McNeil
        variance of each fold (folds have disjoint test sets); ``p_value`` from the
        normal approximation of the summed Mann–Whitney statistics under the null.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    a, b = as_pair(x, y)
    n_folds = check_count("n_folds", n_folds, minimum=2)
    if n_threads is not None:
        n_threads = check_count("n_threads", n_threads)
    if min(len(a), len(b)) < 2 * n_folds:
        raise ValueError(f"c2st with {n_folds} folds needs at least {2 * n_folds} samples of "
                         f"each kind, got {len(a)} and {len(b)}")
    rng = as_generator(seed)
    split_seed, model_seed = (int(s) for s in rng.integers(0, 2**31 - 1, size=2))
    features = np.concatenate([a, b])
    labels = np.r_[np.zeros(len(a), dtype=int), np.ones(len(b), dtype=int)]
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=split_seed)
    aucs, variances, null_variances = [], [], []
    name = classifier if isinstance(classifier, str) else type(classifier).__name__
    for train, test in folds.split(features, labels):
        model = _make_classifier(classifier, model_seed)
        with threadpool_limits(limits=n_threads):
            model.fit(features[train], labels[train])
            score = model.predict_proba(features[test])[:, 1]
        auc = float(roc_auc_score(labels[test], score))
        n_pos = int(labels[test].sum())
        n_neg = len(test) - n_pos
        aucs.append(auc)
        variances.append(_hanley_mcneil_variance(auc, n_pos, n_neg))
        null_variances.append((n_pos + n_neg + 1) / (12.0 * n_pos * n_neg))
    aucs = np.asarray(aucs)
    mean_auc = float(aucs.mean())
    stderr = float(np.sqrt(np.sum(variances)) / n_folds)
    z = (mean_auc - 0.5) / (np.sqrt(np.sum(null_variances)) / n_folds)
    return C2STResult(Estimate(mean_auc, stderr), float(scipy.stats.norm.sf(z)), aucs, name)
