"""Exact Ising results: enumeration of tiny lattices, Kaufman's finite torus, Onsager.

Conventions (``REFERENCE.md``): E(s) = -J sum_<ij> s_i s_j - h sum_i s_i on a periodic
lattice, each nearest-neighbour pair counted once, p(s) ∝ exp(-E(s)/T), k_B = 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.special

T_C = 2.0 / np.log1p(np.sqrt(2.0))
"""Critical temperature of the square-lattice ferromagnet, 2 / ln(1 + sqrt 2)."""

MAX_ENUMERATION_SPINS = 20


def _check_temperature(temperature) -> float:
    t = float(temperature)
    if not np.isfinite(t) or t <= 0:
        raise ValueError(f"temperature must be a finite positive number, got {temperature!r}")
    return t


def energies(spins: np.ndarray, J: float = 1.0, h: float = 0.0) -> np.ndarray:
    """Total energy of each configuration.

    Parameters
    ----------
    spins : np.ndarray, shape (n, L, L) or (n, L)
        ±1 spins on a periodic square lattice (2D) or ring (1D).

    Returns
    -------
    np.ndarray of float64, shape (n,)
    """
    s = np.asarray(spins, dtype=np.float64)
    axes = tuple(range(1, s.ndim))
    bonds = sum((s * np.roll(s, -1, axis=a)).sum(axis=axes) for a in axes)
    return -J * bonds - h * s.sum(axis=axes)


@dataclass(frozen=True)
class ExactIsing:
    """Every state of a small lattice with its exact probability.

    Attributes
    ----------
    states : np.ndarray of int8, shape (2**N, L, L) (or (2**N, L) in 1D)
        State ``k`` has spin ``i`` (row-major) equal to +1 where bit ``N-1-i`` of ``k``
        is 1, so ``states`` is in lexicographic order with -1 < +1.
    log_prob : np.ndarray, shape (2**N,)
    log_z : float
    energy : np.ndarray, shape (2**N,)
        Total energy of each state.
    observables : dict[str, float]
        Exact per-spin observables in the conventions of :func:`physgen.ising.observables`.
    """

    states: np.ndarray
    log_prob: np.ndarray
    log_z: float
    energy: np.ndarray
    temperature: float
    observables: dict = field(default_factory=dict)

    def index(self, spins: np.ndarray) -> np.ndarray:
        """Index into ``states`` of each configuration in ``spins`` (shape (n, *event))."""
        bits = (np.asarray(spins).reshape(len(spins), -1) > 0).astype(np.int64)
        n_spins = bits.shape[1]
        if n_spins != self.states[0].size:
            raise ValueError(f"configurations have {n_spins} spins, expected {self.states[0].size}")
        return bits @ (1 << np.arange(n_spins - 1, -1, -1, dtype=np.int64))


def exact(L: int, temperature: float, *, dim: int = 2, J: float = 1.0, h: float = 0.0) -> ExactIsing:
    """Enumerate all 2**N states of an L×L torus (or an L-ring) with N ≤ 20.

    Parameters
    ----------
    L : int
        Linear size; N = L**2 spins in 2D, L in 1D.
    temperature : float
    dim : {1, 2}
    J, h : float
        Coupling and field.

    Returns
    -------
    ExactIsing
    """
    t = _check_temperature(temperature)
    if dim not in (1, 2):
        raise ValueError(f"dim must be 1 or 2, got {dim!r}")
    n_spins = L**dim
    if not 2 <= n_spins <= MAX_ENUMERATION_SPINS:
        raise ValueError(f"enumeration needs 2 to {MAX_ENUMERATION_SPINS} spins; "
                         f"L={L} in {dim}D has {n_spins}")
    codes = np.arange(2**n_spins, dtype=np.int64)
    shifts = np.arange(n_spins - 1, -1, -1, dtype=np.int64)
    states = (2 * ((codes[:, None] >> shifts) & 1) - 1).astype(np.int8)
    states = states.reshape((-1,) + (L,) * dim)
    energy = energies(states, J, h)
    log_weight = -energy / t
    log_z = float(scipy.special.logsumexp(log_weight))
    log_prob = log_weight - log_z
    prob = np.exp(log_prob)
    magnetization = states.reshape(len(states), -1).sum(axis=1).astype(np.float64)
    moment = lambda x: float(prob @ x)  # noqa: E731
    e1, e2 = moment(energy), moment(energy**2)
    am, m2, m4 = moment(np.abs(magnetization)), moment(magnetization**2), moment(magnetization**4)
    observables = {
        "energy": e1 / n_spins,
        "abs_magnetization": am / n_spins,
        "magnetization_sq": m2 / n_spins**2,
        "specific_heat": (e2 - e1**2) / (n_spins * t**2),
        "susceptibility": (m2 - am**2) / (n_spins * t),
        "binder": 1.0 - m4 / (3.0 * m2**2),
    }
    return ExactIsing(states, log_prob, log_z, energy, t, observables)


# --- Kaufman (1949): the finite m × n torus -------------------------------------------

def _signed_log_prod(values: np.ndarray) -> tuple[float, float]:
    """log|prod| and sign of a product."""
    return float(np.sum(np.log(np.abs(values)))), float(np.prod(np.sign(values)))


def _log_2cosh(x):
    return np.abs(x) + np.log1p(np.exp(-2.0 * np.abs(x)))


def kaufman_log_z(L: int, temperature: float, *, n_cols: int | None = None, J: float = 1.0) -> float:
    """ln Z of the zero-field Ising model on an ``L × n_cols`` torus (Kaufman 1949).

    Parameters
    ----------
    L : int
        Number of rows m.
    temperature : float
    n_cols : int, optional
        Number of columns n (default ``L``).
    J : float
        Ferromagnetic coupling (J > 0).
    """
    t = _check_temperature(temperature)
    m, n = int(L), int(n_cols or L)
    if m < 2 or n < 2:
        raise ValueError(f"Kaufman's formula needs at least 2 rows and columns, got {m}×{n}")
    if J <= 0:
        raise ValueError(f"Kaufman's formula is for a ferromagnet (J > 0), got J={J}")
    K = J / t
    r = np.arange(n)
    k_odd, k_even = 2 * r + 1, 2 * r
    c = np.cosh(2 * K) / np.tanh(2 * K)
    gamma_odd = np.arccosh(c - np.cos(np.pi * k_odd / n))
    gamma_even = np.empty(n)
    gamma_even[0] = 2 * K + np.log(np.tanh(K))  # negative below T_c: the sign matters
    gamma_even[1:] = np.arccosh(c - np.cos(np.pi * k_even[1:] / n))
    # The four partial sums as signed logarithms; sinh of gamma_0 may be negative.
    log_terms, signs = [], []
    for gamma in (gamma_odd, gamma_even):
        log_terms.append(float(np.sum(_log_2cosh(m * gamma / 2))))
        signs.append(1.0)
        log_abs, sign = _signed_log_prod(2 * np.sinh(m * gamma / 2))
        log_terms.append(log_abs)
        signs.append(sign)
    log_sum, sign = scipy.special.logsumexp(log_terms, b=signs, return_sign=True)
    if sign <= 0:
        raise ArithmeticError("Kaufman's sum came out non-positive; precision lost")
    return float(-np.log(2.0) + 0.5 * m * n * np.log(2 * np.sinh(2 * K)) + log_sum)


def kaufman(L: int, temperature: float, *, n_cols: int | None = None, J: float = 1.0) -> dict:
    """Exact energy and specific heat per spin of a finite torus.

    Derivatives of ln Z in beta by a 5-point central difference: ln Z is smooth and
    evaluated to ~1e-15 relative precision, so the energy is exact to ~1e-9 and the
    specific heat to ~1e-6.

    Returns
    -------
    dict with ``log_z``, ``energy`` and ``specific_heat`` (floats, per spin where it applies)
    """
    t = _check_temperature(temperature)
    n_spins = L * (n_cols or L)
    beta = 1.0 / t
    f = lambda b: kaufman_log_z(L, 1.0 / b, n_cols=n_cols, J=J)  # noqa: E731
    step = 1e-3 * beta
    fm2, fm1, f0, fp1, fp2 = (f(beta + k * step) for k in (-2, -1, 0, 1, 2))
    d1 = (fm2 - 8 * fm1 + 8 * fp1 - fp2) / (12 * step)
    d2 = (-fm2 + 16 * fm1 - 30 * f0 + 16 * fp1 - fp2) / (12 * step**2)
    return {"log_z": f0, "energy": -d1 / n_spins, "specific_heat": beta**2 * d2 / n_spins}


# --- Onsager: the infinite lattice -----------------------------------------------------

def onsager_energy(temperature: float, J: float = 1.0) -> float:
    """Energy per spin of the infinite square lattice (Onsager 1944)."""
    K = J / _check_temperature(temperature)
    k = 2 * np.sinh(2 * K) / np.cosh(2 * K) ** 2
    elliptic = scipy.special.ellipk(k**2)  # SciPy takes the parameter m = k**2
    prefactor = 2 * np.tanh(2 * K) ** 2 - 1
    # At T_c the prefactor vanishes while K1 diverges only logarithmically: the term is 0.
    correction = 0.0 if prefactor == 0 or not np.isfinite(elliptic) else prefactor * elliptic
    return float(-J / np.tanh(2 * K) * (1 + 2 / np.pi * correction))


def onsager_magnetization(temperature: float, J: float = 1.0) -> float:
    """Spontaneous magnetisation per spin (Onsager–Yang); zero at and above T_c."""
    K = J / _check_temperature(temperature)
    x = 1 - np.sinh(2 * K) ** -4
    return float(x ** 0.125) if x > 0 else 0.0
