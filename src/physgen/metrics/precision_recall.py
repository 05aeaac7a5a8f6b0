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
from physgen.metrics._resampling import TwoSampleTest, permutation_p_value
from physgen.random import as_generator
from physgen.stats import Estimate, mean_estimate

# Distances are compared with a relative slack so that ties (e.g. equal Hamming
# distances between spin configurations) count as inside despite round-off.
_RELATIVE_SLACK = 1e-9


@dataclass(frozen=True)
class PrecisionRecall:
    """Precision (fidelity) and recall (coverage): floats, Estimates or TwoSampleTests."""

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


def precision_recall_test(real, fake, *, k: int = 3, max_samples: int = 1000,
                          n_permutations: int = 200, seed=None) -> PrecisionRecall:
    """Are precision and recall as high as for a second real sample? A permutation test.

    Both fall below 1 for identical distributions at finite n, so they are compared
    with a real baseline: real is split into halves A and B, and with F the same
    number of generated samples, the statistics are
    precision(A, F) - precision(A, B) and recall(A, F) - recall(A, B). Under the null
    hypothesis B and F are exchangeable, so relabelling B ∪ F gives the null
    distribution; every manifold is recomputed for each relabelling (its own
    variability matters: a binomial error would ignore it and be too small for recall).

    Parameters
    ----------
    real : array_like, shape (n, ...)
    fake : array_like, shape (m, ...)
    k : int
    max_samples : int
        At most this many samples in each of A, B and F (random subsets): the test keeps
        the (2h) × (2h) and h × (2h) distance matrices, h = min(n // 2, m, max_samples).
    n_permutations : int
    seed : seed-like

    Returns
    -------
    PrecisionRecall
        Of two :class:`TwoSampleTest`: ``statistic`` is the difference from the real
        baseline, ``p_value`` two-sided, ``stderr`` the closed-form error of the
        generated value, and ``details`` hold ``value`` and ``baseline``.
    """
    from sklearn.metrics import pairwise_distances

    a_all, b_all = as_pair(real, fake, ("real", "fake"))
    k = check_count("k", k)
    n_permutations = check_count("n_permutations", n_permutations)
    rng = as_generator(seed)
    h = min(len(a_all) // 2, len(b_all), check_count("max_samples", max_samples, minimum=2))
    if h <= k:
        raise ValueError(f"precision_recall_test with k={k} needs more than {2 * k} real and "
                         f"{k} fake samples, got {len(a_all)} and {len(b_all)}")
    order = rng.permutation(len(a_all))
    part_a, part_b = a_all[order[:h]], a_all[order[h:2 * h]]
    part_f = b_all[np.sort(rng.choice(len(b_all), h, replace=False))]
    pool = np.concatenate([part_b, part_f])                       # B first, then F
    d_pool = pairwise_distances(pool, n_jobs=1)                   # (2h, 2h)
    d_cross = pairwise_distances(part_a, pool, n_jobs=1)          # (h, 2h)
    limit = lambda r: r * (1.0 + _RELATIVE_SLACK) + _RELATIVE_SLACK  # noqa: E731
    # precision: is each pooled point inside A's manifold (fixed under relabelling)?
    in_a = np.any(d_cross <= limit(_radii(part_a, k))[:, None], axis=0)
    # Each pooled point's nearest pooled neighbours, nearest first (itself excluded):
    # its k-th neighbour within its own group is almost always among the first few.
    np.fill_diagonal(d_pool, np.inf)
    n_near = min(2 * h - 1, 4 * k + 40)
    near = np.argpartition(d_pool, n_near - 1, axis=1)[:, :n_near]
    near_d = np.take_along_axis(d_pool, near, axis=1)
    by_distance = np.argsort(near_d, axis=1, kind="stable")
    near, near_d = (np.take_along_axis(v, by_distance, axis=1) for v in (near, near_d))

    def radii_within(group: np.ndarray) -> np.ndarray:
        """k-th neighbour distance of every pooled point within its own group."""
        count = np.cumsum(group[near] == group[:, None], axis=1)
        radii = near_d[np.arange(2 * h), np.argmax(count >= k, axis=1)]
        for q in np.flatnonzero(count[:, -1] < k):  # rare: not among the first n_near
            radii[q] = np.partition(d_pool[q, group == group[q]], k - 1)[k - 1]
        return radii

    def statistics(group: np.ndarray) -> tuple[float, float, float, float]:
        """Precision and recall of the pooled points in ``group`` and of the others."""
        inside = (d_cross <= limit(radii_within(group))[None, :]).astype(np.float32)
        covered = inside @ np.stack([group, ~group], axis=1).astype(np.float32) > 0
        return (float(in_a[group].mean()), float(covered[:, 0].mean()),
                float(in_a[~group].mean()), float(covered[:, 1].mean()))

    fake_group = np.arange(2 * h) >= h
    p_f, r_f, p_b, r_b = statistics(fake_group)
    null = np.empty((n_permutations, 2))
    for t in range(n_permutations):
        p1, r1, p2, r2 = statistics(rng.permutation(fake_group))
        null[t] = p1 - p2, r1 - r2
    tests = []
    for j, (value, baseline) in enumerate(((p_f, p_b), (r_f, r_b))):
        diff = value - baseline
        stderr = float(np.sqrt(value * (1 - value) / max(h - 1, 1)))
        tests.append(TwoSampleTest(diff, permutation_p_value(abs(diff), np.abs(null[:, j])),
                                   null[:, j], stderr,
                                   {"value": value, "baseline": baseline, "n": h, "k": k}))
    return PrecisionRecall(*tests)
