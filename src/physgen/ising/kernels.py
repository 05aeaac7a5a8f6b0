"""Compiled Monte Carlo kernels (Numba) for ±1 spins on periodic lattices.

Spins are int8 arrays of shape (n_chains, H, W); a 1D ring is H = 1. Each kernel owns
a hand-written splitmix64 generator per stream (per chain and row). We write it by hand
because Numba's ``np.random`` keeps one hidden state per thread, so results would depend
on the thread schedule; per-stream states make every run bit-reproducible whatever the
number of threads.

Acceptance tests compare a random integer with a precomputed integer threshold, so there
is no float conversion, no ``exp`` and no branch in the inner loop. Metropolis uses 32
random bits per site (one 64-bit draw serves two sites): probabilities are then exact to
2**-32, far below any statistical resolution, and the update runs about 1.8× faster.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
U64_MAX = np.uint64(0xFFFFFFFFFFFFFFFF)


@nb.njit(inline="always")
def _splitmix64(state):
    """Advance a splitmix64 state; return (new_state, 64 random bits)."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return state, z ^ (z >> _S31)


def probability_threshold(p: np.ndarray) -> np.ndarray:
    """uint64 thresholds t with P(r <= t) = p for r uniform on [0, 2**64).

    Exact for p = 1; p below 2**-64 is rounded up to 2**-64 (a bias far below any
    statistical resolution).
    """
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    out = np.empty(p.shape, dtype=np.uint64)
    for idx, value in np.ndenumerate(p):
        out[idx] = min(max(int(np.ceil(value * 2.0**64)) - 1, 0), 2**64 - 1)
    return out


def metropolis_thresholds(temperature: float, J: float, h: float) -> np.ndarray:
    """32-bit acceptance thresholds, flat index ``9 * (s > 0) + neighbour sum + 4``.

    The neighbour sum is -4..4 in 2D (-2..2 on a ring); dE = 2 s (J * sum + h), and a
    flip is accepted when 32 random bits are below ``p * 2**32`` (exact for p = 1, 1/2).

    Returns
    -------
    np.ndarray of uint64, shape (18,)
    """
    s = np.array([-1.0, 1.0])[:, None]
    nn = np.arange(-4, 5, dtype=np.float64)[None, :]
    delta_e = 2.0 * s * (J * nn + h)
    with np.errstate(over="ignore"):
        p = np.minimum(1.0, np.exp(-delta_e / temperature))
    # Moves with dE = 0 are accepted with probability 1/2, not 1. Detailed balance only
    # needs a symmetric acceptance there, and a certain flip would let deterministic
    # cycles trap the chain (e.g. row stripes <-> column stripes under checkerboard
    # updates), which breaks ergodicity.
    p[delta_e == 0] = 0.5
    return np.round(p * 2.0**32).astype(np.uint64).ravel()


_LOW32, _S32 = np.uint64(0xFFFFFFFF), np.uint64(32)


@nb.njit(inline="always")
def _metropolis_site(row, row_up, row_down, j, width, vertical, thresholds, r32):
    """Metropolis update of site j of ``row`` with 32 random bits; returns 1 if flipped."""
    left = j - 1 if j > 0 else width - 1
    right = j + 1 if j < width - 1 else 0
    s = np.int64(row[j])
    field = np.int64(row[left]) + np.int64(row[right])
    if vertical:
        field += np.int64(row_up[j]) + np.int64(row_down[j])
    accept = np.int64(r32 < thresholds[(s + 1) * 9 // 2 + field + 4])
    row[j] = np.int8(s * (1 - 2 * accept))  # branch-free: acceptance is unpredictable
    return accept


@nb.njit(inline="always")
def _checkerboard_row(row, row_up, row_down, start, width, vertical, thresholds, state):
    """Update the sites start, start+2, ... of one row; returns (state, accepted)."""
    n_acc = 0
    j = start
    while j + 2 < width:  # two sites of this colour per 64-bit draw
        state, r = _splitmix64(state)
        n_acc += _metropolis_site(row, row_up, row_down, j, width, vertical, thresholds,
                                  r >> _S32)
        n_acc += _metropolis_site(row, row_up, row_down, j + 2, width, vertical, thresholds,
                                  r & _LOW32)
        j += 4
    if j < width:
        state, r = _splitmix64(state)
        n_acc += _metropolis_site(row, row_up, row_down, j, width, vertical, thresholds,
                                  r >> _S32)
    return state, n_acc


# Both checkerboard kernels use one stream per (chain, row) and the same update order, so
# they give identical results; they differ only in what runs in parallel. (Both are compiled
# with parallel=True: Numba's serial compilation of this loop ran ~8x slower here.)

@nb.njit(parallel=True, cache=True, error_model="numpy")
def metropolis_checkerboard(spins, thresholds, rng_state, n_sweeps):
    """Checkerboard Metropolis sweeps, in place, parallel over the rows of each colour.

    For large lattices. Needs even H (or H = 1) and even W.

    Parameters
    ----------
    spins : int8 array, shape (C, H, W)
    thresholds : uint64 array, shape (18,), from :func:`metropolis_thresholds`
    rng_state : uint64 array, shape (C, H) -- one stream per chain and row
    n_sweeps : int

    Returns
    -------
    int : number of accepted flips
    """
    n_chains, height, width = spins.shape
    vertical = height > 1
    accepted = np.zeros(n_chains * height, np.int64)
    for _ in range(n_sweeps):
        for color in range(2):
            for task in nb.prange(n_chains * height):
                c = task // height
                i = task - c * height
                up = i - 1 if i > 0 else height - 1
                down = i + 1 if i < height - 1 else 0
                state, n_acc = _checkerboard_row(spins[c, i], spins[c, up], spins[c, down],
                                                 (i + color) & 1, width, vertical, thresholds,
                                                 rng_state[c, i])
                rng_state[c, i] = state
                accepted[task] += n_acc
    return accepted.sum()


@nb.njit(parallel=True, cache=True, error_model="numpy")
def metropolis_checkerboard_chains(spins, thresholds, rng_state, n_sweeps):
    """As :func:`metropolis_checkerboard`, parallel over chains, all sweeps in one launch.

    For many small lattices (or one), where a parallel launch per half-sweep would cost
    more than the half-sweep itself.
    """
    n_chains, height, width = spins.shape
    vertical = height > 1
    accepted = np.zeros(n_chains, np.int64)
    for c in nb.prange(n_chains):
        n_acc = 0
        for _ in range(n_sweeps):
            for color in range(2):
                for i in range(height):
                    up = i - 1 if i > 0 else height - 1
                    down = i + 1 if i < height - 1 else 0
                    state, n_row = _checkerboard_row(spins[c, i], spins[c, up], spins[c, down],
                                                     (i + color) & 1, width, vertical,
                                                     thresholds, rng_state[c, i])
                    rng_state[c, i] = state
                    n_acc += n_row
        accepted[c] = n_acc
    return accepted.sum()


PARALLEL_ROWS_MIN_SITES = 32_768  # below this per chain, parallelise over chains instead


@nb.njit(parallel=True, cache=True)
def all_spins(spins):
    """True when every entry is -1 or +1 (a fast, parallel validity check)."""
    flat = spins.reshape(-1)
    bad = 0
    for k in nb.prange(flat.size):
        bad += np.int64(flat[k] != 1 and flat[k] != -1)
    return bad == 0


@nb.njit(parallel=True, cache=True)
def metropolis_random_scan(spins, thresholds, rng_state, n_sweeps):
    """Random-site Metropolis, in place, for any lattice size; a sweep is N attempts.

    Odd sizes cannot be two-coloured on a torus. A fixed (typewriter) order is not safe
    either: it can lock into deterministic cycles, so sites are picked at random, which
    gives a reversible, ergodic chain. Chains run in parallel; uses ``rng_state[c, 0]``.
    """
    n_chains, height, width = spins.shape
    n_sites = height * width
    vertical = height > 1
    accepted = np.zeros(n_chains, np.int64)
    for c in nb.prange(n_chains):
        lattice = spins[c]
        state = rng_state[c, 0]
        n_acc = 0
        for _ in range(n_sweeps * n_sites):
            state, r = _splitmix64(state)  # high 32 bits pick the site, low 32 accept
            site = np.int64(((r >> _S32) * np.uint64(n_sites)) >> _S32)
            i = site // width
            j = site - i * width
            up = i - 1 if i > 0 else height - 1
            down = i + 1 if i < height - 1 else 0
            left = j - 1 if j > 0 else width - 1
            right = j + 1 if j < width - 1 else 0
            field = lattice[i, left] + lattice[i, right]
            if vertical:
                field += lattice[up, j] + lattice[down, j]
            s = lattice[i, j]
            if (r & _LOW32) < thresholds[(s + 1) * 9 // 2 + field + 4]:
                lattice[i, j] = -s
                n_acc += 1
        rng_state[c, 0] = state
        accepted[c] = n_acc
    return accepted.sum()


@nb.njit(parallel=True, cache=True)
def wolff_clusters(spins, add_threshold, rng_state, n_clusters, min_flips):
    """Wolff single-cluster updates (zero field, J > 0), in place.

    Each chain grows and flips ``n_clusters`` clusters, or, when ``min_flips > 0``,
    as many clusters as it takes to flip at least ``min_flips`` spins (a "sweep").

    Parameters
    ----------
    spins : int8 array, shape (C, H, W)
    add_threshold : uint64 -- threshold for p_add = 1 - exp(-2 J / T)
    rng_state : uint64 array, shape (C, >=1); stream ``[c, 0]`` is used
    n_clusters, min_flips : int

    Returns
    -------
    (int, int) : total spins flipped, total clusters grown
    """
    n_chains, height, width = spins.shape
    n_sites = height * width
    vertical = height > 1
    flipped = np.zeros(n_chains, np.int64)
    grown = np.zeros(n_chains, np.int64)
    for c in nb.prange(n_chains):
        lattice = spins[c]
        state = rng_state[c, 0]
        stack = np.empty(n_sites, np.int64)
        total = 0
        count = 0
        while (total < min_flips) if min_flips > 0 else (count < n_clusters):
            state, r = _splitmix64(state)
            site = np.int64(r >> np.uint64(11)) % n_sites
            i0 = site // width
            j0 = site - i0 * width
            s0 = lattice[i0, j0]
            # Flip on adding: a flipped site no longer equals s0, so it is never re-added.
            lattice[i0, j0] = -s0
            stack[0] = site
            top = 1
            size = 1
            while top > 0:
                top -= 1
                site = stack[top]
                i = site // width
                j = site - i * width
                for k in range(4):
                    if k == 0:
                        ni, nj = i, (j - 1 if j > 0 else width - 1)
                    elif k == 1:
                        ni, nj = i, (j + 1 if j < width - 1 else 0)
                    elif not vertical:
                        break
                    elif k == 2:
                        ni, nj = (i - 1 if i > 0 else height - 1), j
                    else:
                        ni, nj = (i + 1 if i < height - 1 else 0), j
                    if lattice[ni, nj] == s0:
                        state, r = _splitmix64(state)
                        if r <= add_threshold:
                            lattice[ni, nj] = -s0
                            stack[top] = ni * width + nj
                            top += 1
                            size += 1
            total += size
            count += 1
        rng_state[c, 0] = state
        flipped[c] = total
        grown[c] = count
    return flipped.sum(), grown.sum()


@nb.njit(parallel=True, cache=True)
def energy_magnetization(spins, J, h):
    """Total energy and magnetisation of each chain.

    Returns
    -------
    (float64 array (C,), float64 array (C,))
    """
    n_chains, height, width = spins.shape
    vertical = height > 1
    energy = np.empty(n_chains)
    magnetization = np.empty(n_chains)
    for c in nb.prange(n_chains):
        bonds = 0
        total = 0
        for i in range(height):
            down = i + 1 if i < height - 1 else 0
            for j in range(width):
                right = j + 1 if j < width - 1 else 0
                s = np.int64(spins[c, i, j])
                total += s
                bonds += s * spins[c, i, right]
                if vertical:
                    bonds += s * spins[c, down, j]
        energy[c] = -J * bonds - h * total
        magnetization[c] = total
    return energy, magnetization
