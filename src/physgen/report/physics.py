"""Ising observables of real and generated samples, with exact references."""

from __future__ import annotations

import math

import numpy as np
import scipy.stats

from physgen import ising
from physgen.ising.exact import MAX_ENUMERATION_SPINS
from physgen.random import as_generator
from physgen.report.rows import ObservableRow, verdict, z_test
from physgen.stats import Estimate

LABELS = {
    "energy": "energy per spin e",
    "abs_magnetization": "|m| per spin",
    "magnetization_sq": "m²",
    "specific_heat": "specific heat C/N",
    "susceptibility": "susceptibility χ/N (|M| convention)",
    "binder": "Binder cumulant U",
    "correlation_function": "G(r) at the r ≥ 1 of largest |z|",
}


def exact_reference(sample_shape: tuple, temperature: float | None) -> tuple[dict, str]:
    """Exact per-spin observables for the lattice, where physgen knows them.

    Returns
    -------
    values : dict[str, float]
    source : str
        Enumeration (N ≤ 20 spins: every observable), Kaufman's finite torus (energy
        and specific heat), or "" when none applies.
    """
    if temperature is None:
        return {}, ""
    if len(sample_shape) == 2 and sample_shape[0] == sample_shape[1]:
        L = sample_shape[0]
        if L * L <= MAX_ENUMERATION_SPINS:
            return (dict(ising.exact(L, temperature).observables),
                    f"enumeration of the {L}×{L} torus")
        k = ising.kaufman(L, temperature)
        return ({"energy": k["energy"], "specific_heat": k["specific_heat"]},
                f"Kaufman's exact {L}×{L} torus")
    if len(sample_shape) == 1 and sample_shape[0] <= MAX_ENUMERATION_SPINS:
        L = sample_shape[0]
        return dict(ising.exact(L, temperature, dim=1).observables), f"enumeration of the {L}-ring"
    return {}, ""


def compare_observables(real, fake, temperature, *, alpha: float, seed=None,
                        n_resamples: int = 200):
    """Observables of both samples with bootstrap errors, z-scores and exact values.

    Returns
    -------
    rows : list of ObservableRow
    estimates : dict
        ``{"real": {...}, "fake": {...}}``, the full Estimates from
        :func:`physgen.ising.observables` (G(r) included), for plots.
    source : str
        Where the exact values come from ("" if none).
    """
    streams = as_generator(seed).spawn(2)
    obs_real = ising.observables(real, temperature, n_resamples=n_resamples, seed=streams[0])
    obs_fake = ising.observables(fake, temperature, n_resamples=n_resamples, seed=streams[1])
    exact, source = exact_reference(np.shape(real)[1:], temperature)
    rows = []
    for name, r in obs_real.items():
        f = obs_fake[name]
        if name == "correlation_function":
            rows.append(_correlation_row(r, f, alpha))
            continue
        z, p = z_test(r, f)
        ex = exact.get(name)
        rows.append(ObservableRow(
            name, LABELS[name], r, f, ex, z, p, verdict(p, alpha),
            None if ex is None else float(r.z_score(ex)),
            None if ex is None else float(f.z_score(ex))))
    return rows, {"real": obs_real, "fake": obs_fake}, source


def _correlation_row(real: Estimate, fake: Estimate, alpha: float) -> ObservableRow:
    # G(0) = 1 always; the r ≥ 1 values are strongly correlated with one another, so a
    # Bonferroni bound on the largest |z| is used rather than a chi-square.
    r_mean, r_err = np.asarray(real.mean)[1:], np.asarray(real.stderr)[1:]
    f_mean, f_err = np.asarray(fake.mean)[1:], np.asarray(fake.stderr)[1:]
    scale = np.hypot(r_err, f_err)
    diff = f_mean - r_mean
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(scale > 0, diff / scale, np.where(diff == 0, 0.0, np.inf))
    k = int(np.argmax(np.abs(z)))
    z_max = float(z[k])
    p = 0.0
    if math.isfinite(z_max):
        p = float(min(1.0, len(z) * 2.0 * scipy.stats.norm.sf(abs(z_max))))
    return ObservableRow("correlation_function", f"G(r) at r = {k + 1}, the largest |z| of r ≥ 1",
                         Estimate(float(r_mean[k]), float(r_err[k])),
                         Estimate(float(f_mean[k]), float(f_err[k])), None, z_max, p,
                         verdict(p, alpha))
