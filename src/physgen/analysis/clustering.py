"""Clustering configurations into phases: K-means (scikit-learn) and agglomerative
(SciPy linkage), and a test of whether two samples fill the clusters alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.cluster.hierarchy
import scipy.stats

from physgen.metrics._checks import as_samples, check_count
from physgen.random import as_generator

LINKAGES = ("single", "complete", "average", "ward")


@dataclass(frozen=True)
class Clustering:
    """Cluster labels of samples.

    Attributes
    ----------
    labels : np.ndarray of int, shape (n,)
        0 .. n_clusters - 1.
    centers : np.ndarray, shape (n_clusters, d)
        Cluster means (K-means centres; centroids for agglomerative clusters).
    method : str
        "kmeans" or the linkage name.
    linkage : np.ndarray, shape (n - 1, 4), or None
        SciPy linkage matrix (agglomerative only), for :func:`scipy.cluster.hierarchy.dendrogram`.
    """

    labels: np.ndarray
    centers: np.ndarray
    method: str
    linkage: np.ndarray | None = None

    @property
    def n_clusters(self) -> int:
        return len(self.centers)

    def assign(self, x) -> np.ndarray:
        """Label new samples by their nearest cluster centre, shape (m,)."""
        a = as_samples(x, "x", min_samples=1)
        if a.shape[1] != self.centers.shape[1]:
            raise ValueError(f"x has {a.shape[1]} features per sample, the clusters have "
                             f"{self.centers.shape[1]}")
        d2 = ((a[:, None, :] - self.centers[None, :, :]) ** 2).sum(axis=2)
        return np.argmin(d2, axis=1)


def kmeans(x, n_clusters: int = 2, *, n_init: int = 10, seed=None) -> Clustering:
    """K-means clustering (scikit-learn, k-means++ starts).

    Parameters
    ----------
    x : array_like, shape (n, ...)
    n_clusters : int
    n_init : int
        Restarts; the best inertia wins.
    seed : seed-like

    Returns
    -------
    Clustering
    """
    from sklearn.cluster import KMeans

    a = as_samples(x, "x")
    n_clusters = _check_clusters(n_clusters, len(a))
    model = KMeans(n_clusters=n_clusters, n_init=check_count("n_init", n_init),
                   random_state=int(as_generator(seed).integers(0, 2**31 - 1))).fit(a)
    return Clustering(model.labels_.astype(np.int64), model.cluster_centers_, "kmeans")


def hierarchical(x, n_clusters: int = 2, *, method: str = "single") -> Clustering:
    """Agglomerative clustering with SciPy's linkage, cut into ``n_clusters``.

    Parameters
    ----------
    x : array_like, shape (n, ...)
        O(n²) memory: subsample large sets first.
    n_clusters : int
    method : {"single", "complete", "average", "ward"}
        Single linkage follows chains of near neighbours (elongated phases);
        complete linkage makes compact clusters.

    Returns
    -------
    Clustering
        Labels numbered by decreasing cluster size.
    """
    a = as_samples(x, "x")
    if method not in LINKAGES:
        raise ValueError(f"method must be one of {LINKAGES}, got {method!r}")
    n_clusters = _check_clusters(n_clusters, len(a))
    tree = scipy.cluster.hierarchy.linkage(a, method=method)
    raw = scipy.cluster.hierarchy.fcluster(tree, t=n_clusters, criterion="maxclust") - 1
    # Relabel by size so that label 0 is the largest cluster on every run.
    sizes = np.bincount(raw)
    order = np.lexsort((np.arange(len(sizes)), -sizes))
    relabel = np.empty_like(order)
    relabel[order] = np.arange(len(order))
    labels = relabel[raw].astype(np.int64)
    centers = np.stack([a[labels == c].mean(axis=0) for c in range(len(sizes))])
    return Clustering(labels, centers, method, tree)


def _check_clusters(n_clusters, n: int) -> int:
    n_clusters = check_count("n_clusters", n_clusters)
    if n_clusters > n:
        raise ValueError(f"n_clusters={n_clusters} is more than the {n} samples")
    return n_clusters


@dataclass(frozen=True)
class OccupancyComparison:
    """How two samples populate the same clusters.

    Attributes
    ----------
    fractions_x, fractions_y : np.ndarray, shape (n_clusters,)
    statistic : float
        Pearson chi-square of the 2 × n_clusters contingency table (empty clusters dropped).
    p_value : float
        Null hypothesis: both samples fill the clusters with the same probabilities.
    """

    fractions_x: np.ndarray
    fractions_y: np.ndarray
    statistic: float
    p_value: float


def compare_occupancy(labels_x, labels_y, n_clusters: int) -> OccupancyComparison:
    """Chi-square test of homogeneity of cluster occupancies (SciPy's chi2_contingency).

    Parameters
    ----------
    labels_x : array_like of int, shape (n,)
    labels_y : array_like of int, shape (m,)
    n_clusters : int

    Returns
    -------
    OccupancyComparison
    """
    n_clusters = check_count("n_clusters", n_clusters)
    counts = []
    for name, labels in (("labels_x", labels_x), ("labels_y", labels_y)):
        lab = np.asarray(labels)
        if lab.ndim != 1 or lab.size == 0 or not np.issubdtype(lab.dtype, np.integer) \
                or lab.min() < 0 or lab.max() >= n_clusters:
            raise ValueError(f"{name} must be a non-empty 1-D array of integers in "
                             f"0 .. {n_clusters - 1}")
        counts.append(np.bincount(lab, minlength=n_clusters))
    table = np.array(counts)
    fractions = table / table.sum(axis=1, keepdims=True)
    used = table.sum(axis=0) > 0
    if used.sum() < 2:
        return OccupancyComparison(fractions[0], fractions[1], 0.0, 1.0)
    statistic, p_value, _, _ = scipy.stats.chi2_contingency(table[:, used], correction=False)
    return OccupancyComparison(fractions[0], fractions[1], float(statistic), float(p_value))
