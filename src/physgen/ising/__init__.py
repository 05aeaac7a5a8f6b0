"""The Ising model: compiled Monte Carlo, exact results and observables.

>>> import physgen as pg
>>> X = pg.ising.sample(L=16, temperature=2.27, n_samples=1000, seed=0)
>>> obs = pg.ising.observables(X, temperature=2.27, seed=0)
"""

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
from physgen.ising.mcmc import IsingRun, metropolis, sample, sample_grid, simulate, wolff
from physgen.ising.observables import check_spins, correlation_function, observables

__all__ = [
    "T_C", "ExactIsing", "IsingRun", "check_spins", "correlation_function", "energies",
    "exact", "kaufman", "kaufman_log_z", "metropolis", "observables", "onsager_energy",
    "onsager_magnetization", "sample", "sample_grid", "simulate", "wolff",
]
