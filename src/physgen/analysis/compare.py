"""Real and generated samples through the same unsupervised lens."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from physgen.analysis.clustering import (
    Clustering,
    OccupancyComparison,
    compare_occupancy,
    hierarchical,
    kmeans,
)
from physgen.analysis.features import is_spins
from physgen.analysis.pca import PCAResult, order_parameter_correlation, pca
from physgen.metrics._checks import as_pair, check_count
from physgen.random import as_generator


@dataclass(frozen=True)
class PhaseAnalysis:
    """PCA and clustering of real and generated samples in one coordinate system.

    The shared coordinates and the clusters are fitted to the pooled samples, so they
    do not depend on which sample is which: under the null hypothesis (one
    distribution) the occupancy tests are then valid.

    Attributes
    ----------
    pca : PCAResult
        Fitted on the pooled samples (real first).
    scores_real : np.ndarray, shape (n, k)
    scores_fake : np.ndarray, shape (m, k)
        Both samples in the pooled principal coordinates.
    explained_variance_real, explained_variance_fake : np.ndarray, shape (k,)
        Explained-variance ratios of PCAs fitted to each sample separately.
    order_parameter_correlation : dict[str, float]
        corr(|PC1|, |m|) for "real" and "fake" (spins only; empty otherwise), each from
        its own PCA.
    kmeans : Clustering
        K-means on the pooled scores (real first).
    labels_real, labels_fake : np.ndarray, shapes (n,) and (m,)
    occupancy : OccupancyComparison
        How real and generated samples fill the K-means clusters.
    hierarchical : dict[str, dict[str, Clustering]]
        linkage -> {"real": ..., "fake": ...}: agglomerative clusterings of random
        subsets (at most ``max_hierarchical`` each) in the same coordinates.
    hierarchical_occupancy : dict[str, OccupancyComparison]
        linkage -> the occupancy test of one clustering of the pooled subsets.
    """

    pca: PCAResult
    scores_real: np.ndarray = field(repr=False)
    scores_fake: np.ndarray = field(repr=False)
    explained_variance_real: np.ndarray
    explained_variance_fake: np.ndarray
    order_parameter_correlation: dict
    kmeans: Clustering = field(repr=False)
    labels_real: np.ndarray = field(repr=False)
    labels_fake: np.ndarray = field(repr=False)
    occupancy: OccupancyComparison
    hierarchical: dict = field(repr=False)
    hierarchical_occupancy: dict


def compare_phases(real, fake, *, n_components: int = 2, n_clusters: int = 3,
                   linkages=("single", "complete"), max_hierarchical: int = 400,
                   seed=None) -> PhaseAnalysis:
    """PCA, K-means and agglomerative clustering applied alike to real and generated data.

    Parameters
    ----------
    real : array_like, shape (n, ...)
    fake : array_like, shape (m, ...)
    n_components : int
        Principal components kept; clustering works in these coordinates (for Ising
        configurations: PC1 ∝ magnetisation, so the clusters are the ordered ± phases
        and the disordered one).
    n_clusters : int
    linkages : sequence of str
        Agglomerative linkages to run (see :func:`physgen.analysis.hierarchical`).
    max_hierarchical : int
        Subset size per sample for the O(n²) agglomerative clustering.
    seed : seed-like

    Returns
    -------
    PhaseAnalysis
    """
    a, b = as_pair(real, fake, ("real", "fake"))
    max_hierarchical = check_count("max_hierarchical", max_hierarchical, minimum=2)
    rng = as_generator(seed)
    pooled = pca(np.concatenate([a, b]), n_components)
    scores_real, scores_fake = pooled.scores[:len(a)], pooled.scores[len(a):]
    real_fit, fake_fit = pca(a, n_components), pca(b, n_components)
    correlations = {}
    if is_spins(real) and is_spins(fake):
        correlations = {
            "real": order_parameter_correlation(real_fit.scores, np.abs(a.mean(axis=1))),
            "fake": order_parameter_correlation(fake_fit.scores, np.abs(b.mean(axis=1)))}
    clusters = kmeans(pooled.scores, n_clusters, seed=rng)
    labels_real, labels_fake = clusters.labels[:len(a)], clusters.labels[len(a):]
    occupancy = compare_occupancy(labels_real, labels_fake, clusters.n_clusters)

    pick = lambda n: np.sort(rng.choice(n, min(n, max_hierarchical), replace=False))  # noqa: E731
    sub_real, sub_fake = scores_real[pick(len(a))], scores_fake[pick(len(b))]
    trees, pooled_tests = {}, {}
    for method in linkages:
        trees[method] = {"real": hierarchical(sub_real, n_clusters, method=method),
                         "fake": hierarchical(sub_fake, n_clusters, method=method)}
        both = hierarchical(np.concatenate([sub_real, sub_fake]), n_clusters, method=method)
        pooled_tests[method] = compare_occupancy(both.labels[:len(sub_real)],
                                                 both.labels[len(sub_real):], both.n_clusters)
    return PhaseAnalysis(pooled, scores_real, scores_fake, real_fit.explained_variance_ratio,
                         fake_fit.explained_variance_ratio, correlations, clusters, labels_real,
                         labels_fake, occupancy, trees, pooled_tests)
