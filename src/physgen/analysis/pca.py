"""Principal component analysis of configurations (scikit-learn)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from physgen.metrics._checks import as_samples, check_count


@dataclass(frozen=True)
class PCAResult:
    """A fitted PCA and the scores of the data it was fitted on.

    Attributes
    ----------
    components : np.ndarray, shape (k, d)
        Unit principal directions, by decreasing variance.
    explained_variance_ratio : np.ndarray, shape (k,)
    mean : np.ndarray, shape (d,)
    scores : np.ndarray, shape (n, k)
    """

    components: np.ndarray = field(repr=False)
    explained_variance_ratio: np.ndarray
    mean: np.ndarray = field(repr=False)
    scores: np.ndarray = field(repr=False)

    def transform(self, x) -> np.ndarray:
        """Scores of new samples, shape (m, k), in the fitted coordinates."""
        a = as_samples(x, "x", min_samples=1)
        if a.shape[1] != self.mean.shape[0]:
            raise ValueError(f"x has {a.shape[1]} features per sample, the PCA was fitted on "
                             f"{self.mean.shape[0]}")
        return (a - self.mean) @ self.components.T


def pca(x, n_components: int = 2) -> PCAResult:
    """Principal components of samples flattened to feature vectors.

    Parameters
    ----------
    x : array_like, shape (n, ...)
    n_components : int
        At most min(n, d).

    Returns
    -------
    PCAResult
        Signs follow scikit-learn's deterministic convention (``svd_flip``).
    """
    from sklearn.decomposition import PCA

    a = as_samples(x, "x")
    n_components = check_count("n_components", n_components)
    if n_components > min(a.shape):
        raise ValueError(f"n_components must be at most min(n_samples, n_features) = "
                         f"{min(a.shape)}, got {n_components}")
    # Exact solvers only (deterministic): with many more samples than features the
    # eigendecomposition of the d × d covariance is far cheaper than the SVD of the data.
    solver = "covariance_eigh" if a.shape[0] >= 10 * a.shape[1] else "full"
    model = PCA(n_components=n_components, svd_solver=solver).fit(a)
    return PCAResult(model.components_, model.explained_variance_ratio_, model.mean_,
                     model.transform(a))


def order_parameter_correlation(scores, order_parameter) -> float:
    """Pearson correlation between |first principal component| and an order parameter.

    For Ising configurations PC1 is (close to) the uniform direction, so its absolute
    score is proportional to |m|: a correlation near 1 identifies the order parameter.

    Parameters
    ----------
    scores : array_like, shape (n, k) or (n,)
        Principal-component scores; the first column is used.
    order_parameter : array_like, shape (n,)
        E.g. |m| per sample.

    Returns
    -------
    float
        NaN when either is constant (no correlation is defined).
    """
    s = np.asarray(scores, dtype=np.float64)
    pc1 = np.abs(s[:, 0] if s.ndim == 2 else s)
    op = np.asarray(order_parameter, dtype=np.float64).ravel()
    if pc1.shape != op.shape or len(op) < 2:
        raise ValueError(f"scores and order_parameter must describe the same n ≥ 2 samples, "
                         f"got {len(pc1)} and {len(op)}")
    if np.ptp(pc1) == 0 or np.ptp(op) == 0:
        return float("nan")
    return float(np.corrcoef(pc1, op)[0, 1])
