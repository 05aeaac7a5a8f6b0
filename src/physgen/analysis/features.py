"""Physical features of Ising configurations, one row per sample."""

from __future__ import annotations

import numpy as np

from physgen.ising import check_spins, correlation_function, energies


def ising_features(spins, *, J: float = 1.0, h: float = 0.0) -> dict[str, np.ndarray]:
    """Per-sample observables of ±1 configurations.

    Parameters
    ----------
    spins : array_like, shape (n, L, L) or (n, L)
    J, h : float
        Coupling and field of the energy.

    Returns
    -------
    dict[str, np.ndarray]
        ``energy`` (n,) energy per spin; ``magnetization`` (n,) and
        ``abs_magnetization`` (n,) per spin; ``correlation`` (n, L // 2 + 1), the
        per-sample G(r) of :func:`physgen.ising.correlation_function`.
    """
    x = check_spins(spins)
    n_spins = int(np.prod(x.shape[1:]))
    m = x.reshape(len(x), -1).sum(axis=1, dtype=np.float64) / n_spins
    return {
        "energy": energies(x, J, h) / n_spins,
        "magnetization": m,
        "abs_magnetization": np.abs(m),
        "correlation": correlation_function(x),
    }


def ising_feature_matrix(spins, *, J: float = 1.0, h: float = 0.0) -> tuple[list[str], np.ndarray]:
    """The observables of :func:`ising_features` as one matrix for distance metrics.

    Returns
    -------
    names : list of str
        ``energy``, ``abs_magnetization``, ``G(1)`` .. ``G(L//2)`` (G(0) = 1 is left out).
    features : np.ndarray, shape (n, 2 + L // 2)
    """
    f = ising_features(spins, J=J, h=h)
    correlation = f["correlation"][:, 1:]
    names = ["energy", "abs_magnetization"]
    names += [f"G({r})" for r in range(1, correlation.shape[1] + 1)]
    return names, np.column_stack([f["energy"], f["abs_magnetization"], correlation])


def is_spins(x) -> bool:
    """True for arrays of shape (n, L) or (n, L, L) holding only -1 and +1."""
    a = np.asarray(x)
    if a.ndim not in (2, 3) or a.shape[0] < 2 or a.shape[1] < 2:
        return False
    if a.ndim == 3 and a.shape[1] != a.shape[2]:
        return False
    if not np.issubdtype(a.dtype, np.number):
        return False
    return bool(np.all((a == 1) | (a == -1)))
