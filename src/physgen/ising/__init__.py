"""The 2D Ising model: compiled Monte Carlo, exact results and observables."""

from physgen.ising.exact import (
    T_C,
    ExactIsing,
    energies,
    exact,
    kaufman,
    kaufman_log_z,
    onsager_energy,
    onsager_magnetization,
)

__all__ = [
    "T_C", "ExactIsing", "energies", "exact", "kaufman", "kaufman_log_z",
    "onsager_energy", "onsager_magnetization",
]
