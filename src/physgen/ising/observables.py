"""Physical observables of Ising samples, each with a statistical error."""

from __future__ import annotations

import numpy as np

from physgen.ising.exact import energies
from physgen.stats import Estimate, bootstrap, mean_estimate

OBSERVABLES = ("energy", "abs_magnetization", "magnetization_sq", "specific_heat",
               "susceptibility", "binder", "correlation_function")


def check_spins(spins, name: str = "spins") -> np.ndarray:
    """Validate ±1 configurations of shape (n_samples, L, L) or (n_samples, L)."""
    x = np.asarray(spins)
    if x.ndim not in (2, 3) or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"{name} must have shape (n_samples, L, L) or (n_samples, L) "
                         f"with n_samples ≥ 2 and L ≥ 2, got {x.shape}")
    if x.ndim == 3 and x.shape[1] != x.shape[2]:
        raise ValueError(f"{name} must be square L×L lattices, got {x.shape[1]}×{x.shape[2]}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"{name} must be numeric ±1 spins, got dtype {x.dtype}")
    if not np.all((x == 1) | (x == -1)):
        bad = x[(x != 1) & (x != -1)].ravel()[:3]
        raise ValueError(f"{name} must contain only -1 and +1, found values such as {bad.tolist()}")
    return x.astype(np.int8, copy=False)


def correlation_function(spins) -> np.ndarray:
    """Per-sample spin–spin correlation G(r) = <s_i s_{i+r}> along the lattice axes.

    Averaged over sites and both axes, for r = 0 .. L // 2 (periodic boundaries).

    Returns
    -------
    np.ndarray, shape (n_samples, L // 2 + 1)
    """
    s = np.asarray(spins, dtype=np.float32)
    axes = tuple(range(1, s.ndim))
    L = s.shape[1]
    return np.stack([
        np.mean([(s * np.roll(s, -r, axis=a)).mean(axis=axes) for a in axes], axis=0)
        for r in range(L // 2 + 1)], axis=1).astype(np.float64)


def observables(spins, temperature: float | None = None, *, J: float = 1.0, h: float = 0.0,
                n_resamples: int = 200, seed=None) -> dict[str, Estimate]:
    """Per-spin observables of independent samples, with errors.

    Parameters
    ----------
    spins : array_like, shape (n_samples, L, L) or (n_samples, L)
        ±1 configurations, assumed independent (e.g. from :func:`physgen.ising.sample`).
    temperature : float, optional
        Needed for the specific heat and susceptibility (omitted without it).
    J, h : float
        Coupling and field used for the energy.
    n_resamples : int
        Bootstrap resamples for the non-linear observables.
    seed : seed-like

    Returns
    -------
    dict[str, Estimate]
        ``energy`` e = <E>/N, ``abs_magnetization`` <|M|>/N, ``magnetization_sq`` <M²>/N²,
        ``specific_heat`` (<E²> - <E>²)/(N T²), ``susceptibility`` (<M²> - <|M|>²)/(N T),
        ``binder`` 1 - <m⁴>/(3 <m²>²), and ``correlation_function`` G(r) (an array
        estimate, r = 0 .. L//2). Means carry standard errors of the mean; the
        fluctuation observables carry bootstrap errors.
    """
    x = check_spins(spins)
    n_spins = int(np.prod(x.shape[1:]))
    e = energies(x, J, h) / n_spins
    m = x.reshape(len(x), -1).sum(axis=1, dtype=np.float64) / n_spins
    abs_m = np.abs(m)
    result = {
        "energy": mean_estimate(e),
        "abs_magnetization": mean_estimate(abs_m),
        "magnetization_sq": mean_estimate(m**2),
        "binder": bootstrap(lambda m_: 1.0 - np.mean(m_**4) / (3.0 * np.mean(m_**2) ** 2),
                            m, n_resamples=n_resamples, seed=seed),
    }
    if temperature is not None:
        t = float(temperature)
        if not np.isfinite(t) or t <= 0:
            raise ValueError(f"temperature must be a finite positive number, got {temperature!r}")
        result["specific_heat"] = bootstrap(lambda e_: n_spins * np.var(e_) / t**2, e,
                                            n_resamples=n_resamples, seed=seed)
        result["susceptibility"] = bootstrap(
            lambda m_: n_spins * (np.mean(m_**2) - np.mean(np.abs(m_)) ** 2) / t, m,
            n_resamples=n_resamples, seed=seed)
    result["correlation_function"] = mean_estimate(correlation_function(x))
    return {name: result[name] for name in OBSERVABLES if name in result}
