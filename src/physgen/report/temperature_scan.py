"""Plot of Monte Carlo observables against temperature next to the exact curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_temperature_scan(L: int, temperatures, estimates, path: str | Path) -> Path:
    """Energy, specific heat and |m| per spin against T, with Kaufman and Onsager curves.

    Parameters
    ----------
    L : int
    temperatures : sequence of float, length n_T
    estimates : sequence of dict[str, Estimate], length n_T
        ``physgen.ising.observables`` at each temperature.
    path : path of the PNG to write

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from physgen.ising import T_C, kaufman, onsager_magnetization

    grid = np.linspace(min(temperatures) * 0.9, max(temperatures) * 1.1, 200)
    exact = [kaufman(L, t) for t in grid]
    panels = [
        ("energy", "energy per spin", [e["energy"] for e in exact], f"Kaufman, L={L}"),
        ("specific_heat", "specific heat per spin", [e["specific_heat"] for e in exact],
         f"Kaufman, L={L}"),
        ("abs_magnetization", "|m|", [onsager_magnetization(t) for t in grid], "Onsager, L=∞"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    for ax, (key, label, curve, curve_label) in zip(axes, panels):
        ax.plot(grid, curve, color="0.3", lw=1.5, label=curve_label)
        ax.errorbar(temperatures, [e[key].mean for e in estimates],
                    yerr=[e[key].stderr for e in estimates], fmt="o", color="C3", capsize=3,
                    label="Monte Carlo ± 1 s.e.")
        ax.axvline(T_C, color="0.6", ls=":", lw=1)
        ax.set_xlabel("temperature T")
        ax.set_ylabel(label)
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle(f"2D Ising model, L = {L}: simulation against exact results")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
