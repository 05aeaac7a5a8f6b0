"""Maximum mean discrepancy: Gaussian-kernel MMD², its permutation test, and KID.

The Gaussian kernel with bandwidths σ_1..σ_K is the sum
k(x, y) = Σ_b exp(-‖x - y‖² / (2 σ_b²)), so k(x, x) = K. The default bandwidth is the
median heuristic (Gretton et al. 2012): σ = the median pairwise distance of the pooled
samples.

The kernel matrix of 20 000 + 20 000 samples has 1.6e9 entries, so it is never formed:
:func:`_kernel_forms` walks over square blocks of the pooled samples (upper triangle
only, by symmetry) in PyTorch and accumulates the quadratic forms wᵀKw that every
statistic here needs. Memory is O(block_size² + n·n_columns), independent of n². The
observed statistic, every permutation and every bootstrap resample are weight vectors
w on the pooled samples, so a test with hundreds of permutations costs one pass.
"""

from __future__ import annotations

import numpy as np
import scipy.spatial.distance

from physgen.metrics._checks import as_pair, check_count, check_test_counts
from physgen.metrics._resampling import TwoSampleTest, permutation_p_value, resample_counts
from physgen.random import as_generator
from physgen.stats import Estimate

DEFAULT_BLOCK_SIZE = 2048
FACTOR_LIMIT = 30.0  # largest c ‖x‖²/2 for the factored kernel: e^60 stays finite in float32


def median_bandwidth(x, y, *, max_samples: int = 1000, seed=None) -> float:
    """Median heuristic: the median distance between pooled samples.

    Parameters
    ----------
    x, y : array_like, shapes (n, ...) and (m, ...)
    max_samples : int
        At most this many pooled samples (drawn at random with ``seed``) enter the
        median, which then costs O(max_samples²) and not O((n + m)²).
    seed : seed-like

    Returns
    -------
    float
        σ for k(x, y) = exp(-‖x - y‖² / (2σ²)); 1.0 when all samples coincide (then
        every bandwidth gives MMD = 0). Zero distances (repeated samples, common for
        spins) are left out of the median.
    """
    a, b = as_pair(x, y)
    return _median_bandwidth(np.concatenate([a, b]), max_samples, as_generator(seed))


def _median_bandwidth(pooled: np.ndarray, max_samples: int, rng) -> float:
    max_samples = check_count("max_samples", max_samples, minimum=2)
    if len(pooled) > max_samples:
        pooled = pooled[np.sort(rng.choice(len(pooled), max_samples, replace=False))]
    d2 = scipy.spatial.distance.pdist(pooled, "sqeuclidean")
    d2 = d2[d2 > 0]
    return float(np.sqrt(np.median(d2))) if d2.size else 1.0


def _bandwidths(bandwidth, pooled, rng) -> tuple[float, ...]:
    if bandwidth is None:
        return (_median_bandwidth(pooled, 1000, rng),)
    try:
        values = np.atleast_1d(np.asarray(bandwidth, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"bandwidth must be None (median heuristic), a positive number or "
                         f"a sequence of positive numbers, got {bandwidth!r}") from None
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)) \
            or np.any(values <= 0):
        raise ValueError(f"bandwidth must be None (median heuristic), a positive number or "
                         f"a sequence of positive numbers, got {bandwidth!r}")
    return tuple(float(v) for v in values)


def _kernel_forms(pooled: np.ndarray, weights: np.ndarray, pairs: np.ndarray,
                  bandwidths, *, block_size: int, device, dtype: str) -> np.ndarray:
    """Quadratic forms w_pᵀ K w_q of the Gaussian kernel matrix of ``pooled``.

    Parameters
    ----------
    pooled : np.ndarray, shape (N, d)
    weights : np.ndarray, shape (N, P)
        Weight vectors as columns.
    pairs : np.ndarray of int, shape (Q, 2)
        Which (p, q) column pairs to evaluate.
    bandwidths : sequence of float
    block_size : int
    device : str or torch.device or None
    dtype : {"float32", "float64"}
        Precision of the kernel blocks; every block's contribution is accumulated in
        float64.

    Returns
    -------
    np.ndarray of float64, shape (Q,)
    """
    import torch

    torch_dtype = {"float32": torch.float32, "float64": torch.float64}.get(dtype)
    if torch_dtype is None:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    block_size = check_count("block_size", block_size)
    device = torch.device("cpu" if device is None else device)
    # Centring in float64 first keeps ‖x‖² + ‖y‖² - 2x·y free of needless cancellation.
    z = torch.as_tensor(pooled - pooled.mean(axis=0), dtype=torch_dtype, device=device)
    w = torch.as_tensor(weights, dtype=torch_dtype, device=device)
    left = torch.as_tensor(pairs[:, 0], device=device)
    right = torch.as_tensor(pairs[:, 1], device=device)
    # One bandwidth: k(x, y) = exp(-‖x - y‖² / (2σ²)) = f(x) exp(c x·y) f(y), with
    # c = 1/σ² and f(x) = exp(-c ‖x‖² / 2). The factors f go into the weights, so a block costs
    # one GEMM, one in-place exp and one product with the weights: no n×n pass for
    # ‖x‖² + ‖y‖². This needs exp(c x·y) to stay finite; when c ‖x‖²/2 exceeds
    # FACTOR_LIMIT somewhere (tiny bandwidths, outliers), and for sums of bandwidths
    # (whose kernels are summed before the one product with the weights), the exponent
    # -‖x - y‖²/2 is formed explicitly instead.
    half_sq = 0.5 * (z * z).sum(dim=1)
    inverse = [1.0 / s**2 for s in bandwidths]
    factored = len(inverse) == 1 and inverse[0] * float(half_sq.max()) <= FACTOR_LIMIT
    if factored:
        factor = torch.exp(-inverse[0] * half_sq)
        w = w * factor[:, None]
        z = z * inverse[0] ** 0.5  # the GEMM then gives c x·y directly
    total = torch.zeros(len(pairs), dtype=torch.float64, device=device)
    n = len(z)
    # reused block buffers: fresh 16 MB tensors per block would cost a page fault per 4 kB
    full = (min(block_size, n),) * 2
    buffers = [torch.empty(full, dtype=torch_dtype, device=device) for _ in range(3)]

    def block(k: int, shape: tuple) -> "torch.Tensor":
        if tuple(buffers[k].shape) == shape:
            return buffers[k]
        return torch.empty(shape, dtype=torch_dtype, device=device)  # an edge block
    with torch.no_grad():
        for i0 in range(0, n, block_size):
            i1 = min(i0 + block_size, n)
            for j0 in range(i0, n, block_size):
                j1 = min(j0 + block_size, n)
                shape = (i1 - i0, j1 - j0)
                gram = torch.mm(z[i0:i1], z[j0:j1].T, out=block(0, shape))
                if factored:
                    kernel = gram.exp_()
                    if i0 == j0:  # k(x, x) = 1 exactly, after the factors
                        kernel.diagonal().copy_(1.0 / factor[i0:i1] ** 2)
                else:
                    gram.sub_(half_sq[i0:i1, None]).sub_(half_sq[None, j0:j1])  # -‖x - y‖²/2
                    kernel = torch.mul(gram, inverse[0], out=block(1, shape)).exp_()
                    for c in inverse[1:]:
                        kernel.add_(torch.mul(gram, c, out=block(2, shape)).exp_())
                    if i0 == j0:
                        kernel.fill_diagonal_(float(len(inverse)))  # k(x, x) exactly
                kw = kernel @ w[j0:j1]
                rows = w[i0:i1]
                part = (rows[:, left] * kw[:, right]).sum(dim=0, dtype=torch.float64)
                if i0 != j0:  # the mirrored block (J, I) of the symmetric matrix
                    part += (rows[:, right] * kw[:, left]).sum(dim=0, dtype=torch.float64)
                total += part
    return total.cpu().numpy()


def _unbiased(uu, vv, uv, m: int, n: int, kappa: float):
    """Unbiased MMD² from Σ_ij u_i u_j k_ij etc. for multiplicities u (x) and v (y).

    Pairs of distinct draws only: a multiplicity vector u of total m has
    Σ_{a≠b} k(x_{i_a}, x_{i_b}) = uᵀKu - κ m, where κ = k(x, x).
    """
    return ((uu - kappa * m) / (m * (m - 1)) + (vv - kappa * n) / (n * (n - 1))
            - 2.0 * uv / (m * n))


def _mmd_pass(a, b, bandwidths, *, n_permutations=0, n_resamples=0, rng=None,
              block_size=DEFAULT_BLOCK_SIZE, device=None, dtype="float32"):
    """Observed MMD², its permutation null and its bootstrap replicates in one pass.

    Returns
    -------
    statistic : float
    null : np.ndarray, shape (n_permutations,)
    replicates : np.ndarray, shape (n_resamples,)
    """
    m, n = len(a), len(b)
    total = m + n
    kappa = float(len(bandwidths))
    columns = [np.r_[np.ones(m), np.zeros(n)], np.r_[np.zeros(m), np.ones(n)]]
    pairs = [(0, 0), (1, 1), (0, 1)]
    for _ in range(n_permutations):
        label = np.zeros(total)
        label[rng.permutation(total)[:m]] = 1.0
        p = len(columns)
        columns.append(label)
        pairs += [(p, p), (p, 0), (p, 1)]
    if n_resamples:
        counts_a = resample_counts(rng, m, n_resamples)
        counts_b = resample_counts(rng, n, n_resamples)
        for r in range(n_resamples):
            p = len(columns)
            columns += [np.r_[counts_a[r], np.zeros(n)], np.r_[np.zeros(m), counts_b[r]]]
            pairs += [(p, p), (p + 1, p + 1), (p, p + 1)]
    forms = _kernel_forms(np.concatenate([a, b]), np.stack(columns, axis=1),
                          np.asarray(pairs, dtype=np.int64), bandwidths,
                          block_size=block_size, device=device, dtype=dtype)
    xx, yy, xy = forms[:3]
    statistic = float(_unbiased(xx, yy, xy, m, n, kappa))
    end = 3 + 3 * n_permutations
    perm = forms[3:end].reshape(-1, 3)
    aa, a_all = perm[:, 0], perm[:, 1] + perm[:, 2]  # aᵀKa and aᵀK1 per relabelling
    all_all = xx + yy + 2 * xy
    null = _unbiased(aa, all_all - 2 * a_all + aa, a_all - aa, m, n, kappa)
    boot = forms[end:].reshape(-1, 3)
    replicates = _unbiased(boot[:, 0], boot[:, 1], boot[:, 2], m, n, kappa)
    return statistic, np.asarray(null, dtype=np.float64), np.asarray(replicates, dtype=np.float64)


def mmd(x, y, *, bandwidth=None, seed=None, return_estimate: bool = False,
        n_resamples: int = 100, block_size: int = DEFAULT_BLOCK_SIZE, device=None,
        dtype: str = "float32") -> float | Estimate:
    """Unbiased estimate of the squared maximum mean discrepancy MMD² (Gaussian kernels).

    MMD² = E k(x, x') + E k(y, y') - 2 E k(x, y), estimated without the i = j terms,
    so it is unbiased and can be slightly negative when the distributions agree.

    Parameters
    ----------
    x : array_like, shape (n, ...)
    y : array_like, shape (m, ...)
        Samples are flattened to feature vectors; both need the same number of features.
    bandwidth : None, float or sequence of float
        Kernel bandwidths σ; several give a sum of Gaussian kernels. None: the median
        heuristic (:func:`median_bandwidth` on at most 1000 pooled samples).
    seed : seed-like
        For the median-heuristic subsample and the bootstrap.
    return_estimate : bool
        Return an :class:`~physgen.stats.Estimate` with a bootstrap error (each sample
        resampled independently ``n_resamples`` times; the replicates are computed in
        the same blockwise pass).
    n_resamples : int
    block_size : int
        Side of the kernel blocks; memory is about 3 · block_size² numbers.
    device : str, optional
        PyTorch device ("cpu" by default, "cuda" for a GPU).
    dtype : {"float32", "float64"}

    Returns
    -------
    float or Estimate
    """
    a, b = as_pair(x, y)
    rng = as_generator(seed)
    bandwidths = _bandwidths(bandwidth, np.concatenate([a, b]), rng)
    n_boot = check_count("n_resamples", n_resamples, minimum=2) if return_estimate else 0
    statistic, _, replicates = _mmd_pass(a, b, bandwidths, n_resamples=n_boot, rng=rng,
                                         block_size=block_size, device=device, dtype=dtype)
    if return_estimate:
        return Estimate(statistic, float(np.std(replicates, ddof=1)))
    return statistic


def mmd_test(x, y, *, n_permutations: int = 200, bandwidth=None, seed=None,
             n_resamples: int = 0, block_size: int = DEFAULT_BLOCK_SIZE, device=None,
             dtype: str = "float32") -> TwoSampleTest:
    """Permutation test of "x and y come from one distribution" with the MMD² statistic.

    Parameters
    ----------
    x, y : array_like, shapes (n, ...) and (m, ...)
    n_permutations : int
        Random relabellings of the pooled samples; the p-value is
        (1 + #{null ≥ observed}) / (1 + n_permutations), so it is never below
        1 / (1 + n_permutations).
    bandwidth, seed, block_size, device, dtype
        As in :func:`mmd`; the bandwidth is fixed before permuting.
    n_resamples : int
        If positive, also a bootstrap error of the statistic (``result.stderr``).

    Returns
    -------
    TwoSampleTest
        ``statistic`` (unbiased MMD²), ``p_value``, ``null`` (n_permutations,),
        ``stderr`` and ``details["bandwidth"]``.
    """
    a, b = as_pair(x, y)
    n_permutations, n_boot = check_test_counts(n_permutations, n_resamples)
    rng = as_generator(seed)
    bandwidths = _bandwidths(bandwidth, np.concatenate([a, b]), rng)
    statistic, null, replicates = _mmd_pass(a, b, bandwidths, n_permutations=n_permutations,
                                            n_resamples=n_boot, rng=rng, block_size=block_size,
                                            device=device, dtype=dtype)
    stderr = float(np.std(replicates, ddof=1)) if n_boot else float("nan")
    return TwoSampleTest(statistic, permutation_p_value(statistic, null), null, stderr,
                         {"bandwidth": list(bandwidths), "kernel": "gaussian"})


def kernel_distance(x, y, *, degree: int = 3, n_subsets: int = 100, subset_size: int = 1000,
                    seed=None) -> Estimate:
    """Polynomial-kernel MMD² over random subsets (the "kernel inception distance" recipe).

    k(x, y) = (xᵀy / d + 1)^degree on d features (Bińkowski et al. 2018). Meant for
    low-dimensional, standardised features such as physical observables.

    Parameters
    ----------
    x, y : array_like, shapes (n, ...) and (m, ...)
    degree : int
    n_subsets : int
    subset_size : int
        Capped at min(n, m); each subset is drawn without replacement. Subsets as large
        as the samples are all the same and have no spread: keep it below min(n, m).
    seed : seed-like

    Returns
    -------
    Estimate
        ``mean``: the median of the subset values of the unbiased MMD²; ``stderr``: their
        standard deviation, i.e. the spread of one subset-size estimate (not an error of
        the median, which is smaller).
    """
    a, b = as_pair(x, y)
    degree = check_count("degree", degree)
    n_subsets = check_count("n_subsets", n_subsets, minimum=2)
    size = min(check_count("subset_size", subset_size, minimum=2), len(a), len(b))
    rng = as_generator(seed)
    d = a.shape[1]
    values = np.empty(n_subsets)
    for s in range(n_subsets):
        sa = a[rng.choice(len(a), size, replace=False)]
        sb = b[rng.choice(len(b), size, replace=False)]
        kxx, kyy, kxy = (_polynomial(u, v, degree) for u, v in ((sa, sa), (sb, sb), (sa, sb)))
        off = size * (size - 1)
        values[s] = ((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off
                     - 2.0 * kxy.mean())
    return Estimate(float(np.median(values)), float(np.std(values, ddof=1)))


def _polynomial(u: np.ndarray, v: np.ndarray, degree: int) -> np.ndarray:
    """(u vᵀ / d + 1)^degree by repeated products (a general float power is much slower)."""
    base = u @ v.T
    base /= u.shape[1]
    base += 1.0
    kernel = base.copy()
    for _ in range(degree - 1):
        kernel *= base
    return kernel
