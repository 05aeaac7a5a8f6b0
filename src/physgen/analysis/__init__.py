"""Unsupervised analysis of configurations: PCA, K-means and agglomerative clustering.

Built on scikit-learn and SciPy, and applied to real and generated samples alike so the
two can be compared (:func:`compare_phases`).

>>> import physgen as pg
>>> result = pg.analysis.pca(X, n_components=2)
>>> pg.analysis.order_parameter_correlation(result.scores, abs(X.mean(axis=(1, 2))))
>>> phases = pg.analysis.compare_phases(X_real, X_fake, n_clusters=3, seed=0)
>>> phases.occupancy.p_value
"""

from physgen.analysis.clustering import (
    Clustering,
    OccupancyComparison,
    compare_occupancy,
    hierarchical,
    kmeans,
)
from physgen.analysis.compare import PhaseAnalysis, compare_phases
from physgen.analysis.features import ising_feature_matrix, ising_features, is_spins
from physgen.analysis.pca import PCAResult, order_parameter_correlation, pca

__all__ = [
    "Clustering", "OccupancyComparison", "PCAResult", "PhaseAnalysis", "compare_occupancy",
    "compare_phases", "hierarchical", "is_spins", "ising_feature_matrix", "ising_features",
    "kmeans", "order_parameter_correlation", "pca",
]
