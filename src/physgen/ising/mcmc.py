"""Monte Carlo sampling of the Ising model: in-place updates and decorrelated samples.

``metropolis`` and ``wolff`` advance given chains in place. ``simulate`` runs many
independent chains, measures the integrated autocorrelation time of the energy and of
|m|, chooses burn-in (≥ 20 τ) and spacing (≥ 2 τ) from it, and returns effectively
independent samples with everything it chose recorded in ``IsingRun.metadata``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from physgen.ising import kernels
from physgen.ising.exact import T_C
from physgen.random import as_generator, stream_states
from physgen.stats import integrated_time

ALGORITHMS = ("auto", "metropolis", "wolff")
# Wolff pays off near and below T_c; far above it clusters are tiny and Metropolis wins.
WOLFF_MAX_TEMPERATURE_FACTOR = 1.25
PILOT_SWEEPS = 64          # first measurement window, doubled until it spans >= 50 τ
MIN_WINDOW_PER_TAU = 50
BURN_IN_PER_TAU = 20
SPACING_PER_TAU = 2


def _as_lattice(spins, dim: int | None = None) -> np.ndarray:
    """View ``spins`` as (n_chains, H, W) int8 for the kernels (no copy)."""
    if not isinstance(spins, np.ndarray) or spins.dtype != np.int8:
        got = spins.dtype if isinstance(spins, np.ndarray) else type(spins).__name__
        raise ValueError(f"spins must be an int8 numpy array of ±1 (updated in place), got {got}")
    if not spins.flags.c_contiguous or not spins.flags.writeable:
        raise ValueError("spins must be a writeable C-contiguous array (it is updated in place)")
    if spins.ndim not in (1, 2, 3):
        raise ValueError(f"spins must have shape (n_chains, L, L), (L, L), (n_chains, L) "
                         f"or (L,), got shape {spins.shape}")
    if spins.size == 0:
        raise ValueError("spins is empty")
    if not kernels.all_spins(spins):
        raise ValueError("spins must contain only -1 and +1")
    if dim is None:
        dim = 2 if spins.ndim == 3 or (spins.ndim == 2 and spins.shape[0] == spins.shape[1] > 2) else 1
    if dim == 2:
        return spins.reshape((-1,) + spins.shape[-2:])
    return spins.reshape(-1, 1, spins.shape[-1])


def _check_positive(name, value, integer=False):
    ok = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.number))
    if not ok or isinstance(value, bool) or not np.isfinite(value) or value <= 0:
        kind = "a positive integer" if integer else "a finite positive number"
        raise ValueError(f"{name} must be {kind}, got {value!r}")


def _checkerboard_ok(lattice: np.ndarray) -> bool:
    _, height, width = lattice.shape
    return width % 2 == 0 and (height == 1 or height % 2 == 0)


def _sweep_metropolis(lattice, thresholds, states, n_sweeps) -> int:
    if not _checkerboard_ok(lattice):
        kernel = kernels.metropolis_random_scan
    elif lattice[0].size >= kernels.PARALLEL_ROWS_MIN_SITES and len(lattice) < 8:
        kernel = kernels.metropolis_checkerboard
    else:
        kernel = kernels.metropolis_checkerboard_chains
    return int(kernel(lattice, thresholds, states, n_sweeps))


def metropolis(spins: np.ndarray, temperature: float, n_sweeps: int = 1, *, seed=None,
               J: float = 1.0, h: float = 0.0, dim: int | None = None) -> float:
    """Advance chains by Metropolis sweeps, in place.

    Even lattices use checkerboard updates (each colour in parallel); odd ones pick sites
    at random, since an odd torus has no two-colouring. Moves that leave the energy
    unchanged are accepted with probability 1/2 (see ``kernels.metropolis_thresholds``).

    Parameters
    ----------
    spins : np.ndarray of int8, shape (n_chains, L, L), (L, L), (n_chains, L) or (L,)
        ±1 spins, C-contiguous; updated in place.
    temperature : float
    n_sweeps : int
        One sweep attempts one flip per spin.
    seed : seed-like
    J, h : float
        Coupling and field.
    dim : {1, 2}, optional
        Needed only to read an (n_chains, L) array as rings when n_chains == L.

    Returns
    -------
    float
        Fraction of attempted flips that were accepted.
    """
    lattice = _as_lattice(spins, dim)
    _check_positive("temperature", temperature)
    _check_positive("n_sweeps", n_sweeps, integer=True)
    thresholds = kernels.metropolis_thresholds(float(temperature), float(J), float(h))
    states = stream_states(seed, lattice.shape[:2])
    accepted = _sweep_metropolis(lattice, thresholds, states, int(n_sweeps))
    return accepted / (lattice.size * n_sweeps)


def _wolff_threshold(temperature: float, J: float) -> np.uint64:
    return kernels.probability_threshold(-np.expm1(-2.0 * J / temperature))[()]


def wolff(spins: np.ndarray, temperature: float, n_clusters: int = 1, *, seed=None,
          J: float = 1.0, dim: int | None = None) -> float:
    """Grow and flip Wolff clusters (zero field, ferromagnet), in place.

    Parameters
    ----------
    spins : np.ndarray of int8, shape as for :func:`metropolis`; updated in place.
    temperature : float
    n_clusters : int
        Clusters per chain.
    seed : seed-like
    J : float
        Coupling, J > 0 (the cluster construction needs a ferromagnet).

    Returns
    -------
    float
        Mean cluster size as a fraction of the lattice.
    """
    lattice = _as_lattice(spins, dim)
    _check_positive("temperature", temperature)
    _check_positive("n_clusters", n_clusters, integer=True)
    if J <= 0:
        raise ValueError(f"the Wolff algorithm needs a ferromagnetic coupling J > 0, got J={J}")
    states = stream_states(seed, (lattice.shape[0], 1))
    flipped, grown = kernels.wolff_clusters(lattice, _wolff_threshold(temperature, J), states,
                                            int(n_clusters), 0)
    return flipped / grown / (lattice.shape[1] * lattice.shape[2])


@dataclass
class IsingRun:
    """Samples from :func:`simulate` with their measured properties.

    Attributes
    ----------
    spins : np.ndarray of int8, shape (n_samples, L, L) (or (n_samples, L) in 1D)
    energy : np.ndarray, shape (n_samples,)
        Energy per spin of each sample.
    magnetization : np.ndarray, shape (n_samples,)
        Signed magnetisation per spin of each sample.
    tau_int : dict
        Integrated autocorrelation times, in sweeps, of "energy" and "abs_magnetization".
    acceptance : float
        Metropolis acceptance rate, or for Wolff the mean cluster size / N.
    metadata : dict
        JSON-ready record of every choice made (algorithm, burn-in, thinning, seed, ...).
    """

    spins: np.ndarray
    energy: np.ndarray
    magnetization: np.ndarray
    tau_int: dict
    acceptance: float
    metadata: dict = field(default_factory=dict)


class _Chains:
    """Many chains advanced in units of sweeps (Wolff: clusters flipping ≥ N spins)."""

    def __init__(self, lattice, temperature, J, h, algorithm, states):
        self.lattice, self.J, self.h, self.algorithm, self.states = lattice, J, h, algorithm, states
        self.n_sites = lattice.shape[1] * lattice.shape[2]
        self.thresholds = kernels.metropolis_thresholds(temperature, J, h)
        self.add_threshold = _wolff_threshold(temperature, J) if algorithm == "wolff" else None
        self.sweeps = 0
        # Wolff sweeps are a fixed number of clusters, calibrated during burn-in to flip
        # about N spins. Stopping each sweep once N spins have flipped would bias the
        # samples: the stopping time would depend on the configuration.
        self.clusters_per_sweep = None
        self.work = 0   # accepted flips (Metropolis) or spins flipped (Wolff)
        self.moves = 0  # attempted flips (Metropolis) or clusters grown (Wolff)

    def advance(self, n_sweeps: int):
        if self.algorithm == "wolff":
            if self.clusters_per_sweep is None:  # still calibrating: burn-in only
                for _ in range(n_sweeps):
                    flipped, grown = kernels.wolff_clusters(self.lattice, self.add_threshold,
                                                            self.states, 0, self.n_sites)
                    self.work += flipped
                    self.moves += grown
            else:
                flipped, grown = kernels.wolff_clusters(
                    self.lattice, self.add_threshold, self.states,
                    n_sweeps * self.clusters_per_sweep, 0)
                self.work += flipped
                self.moves += grown
        else:
            self.work += _sweep_metropolis(self.lattice, self.thresholds, self.states, n_sweeps)
            self.moves += self.lattice.size * n_sweeps
        self.sweeps += n_sweeps

    def measure(self):
        energy, magnetization = kernels.energy_magnetization(self.lattice, self.J, self.h)
        return energy / self.n_sites, magnetization / self.n_sites

    def calibrate(self):
        """Fix the number of Wolff clusters per sweep from the sizes seen so far."""
        if self.algorithm == "wolff":
            mean_size = self.work / max(self.moves, 1)
            self.clusters_per_sweep = max(1, round(self.n_sites / mean_size))

    @property
    def acceptance(self) -> float:
        if self.algorithm == "wolff":
            return self.work / max(self.moves, 1) / self.n_sites
        return self.work / max(self.moves, 1)


def choose_algorithm(algorithm: str, temperature: float, J: float, h: float) -> str:
    """Resolve ``"auto"``: Wolff for a zero-field ferromagnet up to 1.25 T_c, else Metropolis."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    wolff_possible = h == 0 and J > 0
    if algorithm == "wolff" and not wolff_possible:
        raise ValueError("the Wolff algorithm needs h = 0 and J > 0; use algorithm='metropolis'")
    if algorithm == "auto":
        near_or_below = temperature <= WOLFF_MAX_TEMPERATURE_FACTOR * T_C * J
        return "wolff" if wolff_possible and near_or_below else "metropolis"
    return algorithm


def simulate(L: int, temperature: float, n_samples: int, *, dim: int = 2, J: float = 1.0,
             h: float = 0.0, algorithm: str = "auto", n_chains: int | None = None, seed=None,
             max_sweeps: int = 200_000, progress: bool | None = None) -> IsingRun:
    """Draw effectively independent Ising configurations.

    Runs ``n_chains`` independent chains, measures the integrated autocorrelation time τ
    (in sweeps) of the energy and |m| on a window of at least 50 τ, discards a burn-in of
    at least 20 τ and keeps one configuration per chain every ⌈2 τ⌉ sweeps.

    Parameters
    ----------
    L : int
        Linear size (L×L torus, or a ring of L spins with ``dim=1``).
    temperature : float
    n_samples : int
    dim : {1, 2}
    J, h : float
        Coupling and field.
    algorithm : {"auto", "metropolis", "wolff"}
        "auto" uses Wolff for a zero-field ferromagnet up to 1.25 T_c, Metropolis otherwise.
    n_chains : int, optional
        Independent chains (default: min(n_samples, 64)).
    seed : seed-like
    max_sweeps : int
        Cap on the length of the τ-measurement window; hitting it is recorded in the
        metadata as ``tau_converged: false``.
    progress : bool, optional
        Show a progress bar (default: only on a terminal).

    Returns
    -------
    IsingRun
    """
    if dim not in (1, 2):
        raise ValueError(f"dim must be 1 (ring) or 2 (square lattice), got {dim!r}")
    _check_positive("L", L, integer=True)
    if L < 2:
        raise ValueError(f"L must be at least 2, got {L}")
    _check_positive("temperature", temperature)
    _check_positive("n_samples", n_samples, integer=True)
    for name, value in (("J", J), ("h", h)):
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if n_chains is not None:
        _check_positive("n_chains", n_chains, integer=True)
    temperature, J, h = float(temperature), float(J), float(h)
    algorithm_used = choose_algorithm(algorithm, temperature, J, h)
    n_chains = int(n_chains or min(n_samples, 64))
    rng = as_generator(seed)
    recorded_seed = seed if isinstance(seed, (int, np.integer)) else None

    shape = (n_chains, L, L) if dim == 2 else (n_chains, 1, L)
    # Below T_c a hot start can freeze into long-lived stripe domains on the torus; an
    # ordered start with a random sign per chain keeps the ± symmetry and avoids them.
    ordered_start = J > 0 and temperature < T_C * J and dim == 2 and h == 0
    if ordered_start:
        signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=n_chains)
        lattice = np.broadcast_to(signs[:, None, None], shape).copy()
    else:
        lattice = rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)
    chains = _Chains(lattice, temperature, J, h, algorithm_used, stream_states(rng, shape[:2]))

    show = None if progress is None else not progress
    label = f"Ising L={L} T={temperature:g}"
    # Pilot: burn in for one window, then measure τ on windows doubled until long enough.
    window = PILOT_SWEEPS
    chains.advance(window)
    chains.calibrate()
    tau_converged = False
    with tqdm(desc=f"{label}: measuring τ", unit="sweep", disable=show, leave=False) as bar:
        while True:
            series_e = np.empty((n_chains, window))
            series_m = np.empty((n_chains, window))
            for t in range(window):
                chains.advance(1)
                series_e[:, t], magnetization = chains.measure()
                series_m[:, t] = np.abs(magnetization)
                bar.update(1)
            tau = {"energy": integrated_time(series_e),
                   "abs_magnetization": integrated_time(series_m)}
            tau_max = max(tau.values())
            bar.set_postfix(tau=f"{tau_max:.1f}", refresh=False)
            if window >= MIN_WINDOW_PER_TAU * tau_max:
                tau_converged = True
                break
            if 2 * window > max_sweeps:
                break
            window *= 2

    burn_in = max(chains.sweeps, math.ceil(BURN_IN_PER_TAU * tau_max))
    if burn_in > chains.sweeps:
        chains.advance(burn_in - chains.sweeps)
    spacing = max(1, math.ceil(SPACING_PER_TAU * tau_max))

    n_rounds = math.ceil(n_samples / n_chains)
    samples = np.empty((n_rounds, *shape), dtype=np.int8)
    energy = np.empty((n_rounds, n_chains))
    magnetization = np.empty((n_rounds, n_chains))
    for r in tqdm(range(n_rounds), desc=f"{label}: sampling", unit="round", disable=show,
                  leave=False):
        chains.advance(spacing)
        samples[r] = chains.lattice
        energy[r], magnetization[r] = chains.measure()

    spins = samples.reshape(-1, *shape[1:])[:n_samples]
    if dim == 1:
        spins = spins.reshape(n_samples, L)
    metadata = {
        "generator": "physgen.ising.simulate",
        "L": L, "dim": dim, "temperature": temperature, "J": J, "h": h,
        "n_samples": int(n_samples), "algorithm": algorithm_used, "requested_algorithm": algorithm,
        "n_chains": n_chains, "seed": None if recorded_seed is None else int(recorded_seed),
        "tau_int": tau, "tau_window": window, "tau_converged": tau_converged,
        "burn_in": burn_in, "thinning": spacing, "total_sweeps": chains.sweeps,
        "sweep_unit": (f"{chains.clusters_per_sweep} Wolff clusters (about N flipped spins)"
                       if algorithm_used == "wolff" else "N attempted flips"),
        "start": "ordered (random sign per chain)" if ordered_start else "random",
        "acceptance": chains.acceptance,
    }
    from physgen import __version__
    metadata["physgen_version"] = __version__
    return IsingRun(spins=spins, energy=energy.reshape(-1)[:n_samples],
                    magnetization=magnetization.reshape(-1)[:n_samples], tau_int=tau,
                    acceptance=chains.acceptance, metadata=metadata)


def sample(L: int, temperature: float, n_samples: int, **kwargs) -> np.ndarray:
    """Decorrelated Ising configurations; see :func:`simulate` for the keywords.

    Returns
    -------
    np.ndarray of int8, shape (n_samples, L, L) (or (n_samples, L) with ``dim=1``)
    """
    return simulate(L, temperature, n_samples, **kwargs).spins


def sample_grid(L: int, temperatures, n_per_temperature: int, *, seed=None, **kwargs):
    """Samples at several temperatures, labelled, for conditional models.

    Parameters
    ----------
    L : int
    temperatures : sequence of float, length n_T
    n_per_temperature : int
    seed : seed-like
        One independent stream is spawned per temperature.
    **kwargs
        Passed to :func:`simulate`.

    Returns
    -------
    spins : np.ndarray of int8, shape (n_T * n_per_temperature, L, L)
    labels : np.ndarray of float64, shape (n_T * n_per_temperature,)
        The temperature of each sample.
    """
    temperatures = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
    if temperatures.ndim != 1 or temperatures.size == 0:
        raise ValueError("temperatures must be a non-empty 1-D sequence of numbers")
    streams = as_generator(seed).spawn(len(temperatures))
    spins = [sample(L, t, n_per_temperature, seed=s, **kwargs) for t, s in zip(temperatures, streams)]
    labels = np.repeat(temperatures, n_per_temperature)
    return np.concatenate(spins), labels
