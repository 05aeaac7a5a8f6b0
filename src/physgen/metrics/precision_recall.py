"""k-nearest-neighbour precision and recall (Kynkäänniemi et al. 2019).

Precision: the fraction of generated samples that fall inside the real manifold (the
union of balls around each real sample whose radius is the distance to its k-th nearest
real neighbour) - fidelity. Recall: the fraction of real samples inside the generated
manifold - coverage of the modes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physgen.metrics._checks import as_pair, check_count
from physgen.stats import Estimate, mean_estimate

# Distances are compared with a relative slack so that ties (e.g. equal Hamming
# distances between spin configurations) count as inside despite round-off.
_RELATIVE_SLACK = 1e-9


@dataclass(frozen=True)
class PrecisionRecall:
    """Precision (fidelity) and recall (coverage), each a float or an Estimate."""

    precision: float | Estimate
    recall: float | Estimate


def _radii(reference: np.ndarray, k: int) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    # k + 1 neighbours: the first is the point itself (distance 0).
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(reference).kneighbors(reference)
    return distances[:, -1]


def _inside(query: np.ndarray, reference: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Whether each query point lies in some reference ball, shape (n_query,) bool."""
    from sklearn.metrics import pairwise_distances_chunked

    limit = radii * (1.0 + _RELATIVE_SLACK) + _RELATIVE_SLACK
    inside = [np.any(chunk <= limit[None, :], axis=1)
              for chunk in pairwise_distances_chunked(query, reference, n_jobs=1)]
    return np.concatenate(inside)


def precision_recall(real, fake, *, k: int = 3, return_estimate: bool = False) -> PrecisionRecall:
    """Manifold precision and recall of generated samples against real ones.

    Parameters
    ----------
    real : array_like, shape (n, ...)
    fake : array_like, shape (m, ...)
        Flattened to feature vectors; Euclidean distances.
    k : int
        Neighbour defining each ball's radius (3 as in the paper).
    return_estimate : bool
        Return each as an Estimate whose error is the bootstrap error over the query
        samples given the reference manifold, in closed form (the standard error of a
        fraction); it leaves out the variability of the manifold itself.

    Returns
    -------
    PrecisionRecall
        Both close to 1 for a perfect generator at large n; smaller at finite n and in
        high dimensions, so compare with real-vs-real values of equal sizes.
    """
    a, b = as_pair(real, fake, ("real", "fake"))
    k = check_count("k", k)
    if min(len(a), len(b)) <= k:
        raise ValueError(f"precision_recall with k={k} needs more than {k} samples of each, "
                         f"got {len(a)} real and {len(b)} fake")
    in_real = _inside(b, a, _radii(a, k)).astype(np.float64)
    in_fake = _inside(a, b, _radii(b, k)).astype(np.float64)
    if return_estimate:
        return PrecisionRecall(mean_estimate(in_real), mean_estimate(in_fake))
    return PrecisionRecall(float(in_real.mean()), float(in_fake.mean()))
