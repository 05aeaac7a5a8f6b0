"""``physgen demo``: the main job on a built-in default, end to end."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np


@click.command(name="demo")
@click.option("--out", type=click.Path(file_okay=False), default="physgen-demo", show_default=True,
              help="Directory for the data, the plot and the report.")
@click.option("--L", "L", type=click.IntRange(min=4), default=16, show_default=True)
@click.option("--n-samples", type=click.IntRange(min=100), default=4000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def command(out, L, n_samples, seed):
    """Simulate the Ising model below, at and above T_c and check it against exact results."""
    import physgen as pg
    from physgen.report.temperature_scan import plot_temperature_scan

    out = Path(out)
    temperatures = [1.8, round(float(pg.ising.T_C), 4), 3.0]
    click.echo(f"physgen demo: 2D Ising model, L={L}, {n_samples} samples at T = "
               f"{', '.join(f'{t:g}' for t in temperatures)} (T_c = {pg.ising.T_C:.4f})")
    streams = np.random.default_rng(seed).spawn(len(temperatures))
    estimates = []
    for t, stream in zip(temperatures, streams):
        run = pg.ising.simulate(L, t, n_samples, seed=stream)
        obs = pg.ising.observables(run.spins, temperature=t, seed=stream)
        estimates.append(obs)
        exact = pg.ising.kaufman(L, t)
        m = run.metadata
        click.echo(f"\nT = {t:g}  ({m['algorithm']}, τ = {max(m['tau_int'].values()):.2f} sweeps, "
                   f"burn-in {m['burn_in']}, thinning {m['thinning']})")
        rows = [("energy per spin", obs["energy"], exact["energy"], f"Kaufman L={L}"),
                ("specific heat", obs["specific_heat"], exact["specific_heat"], f"Kaufman L={L}"),
                # Onsager's spontaneous magnetisation is the L=∞ value: shown below T_c only,
                # where a finite lattice approaches it; at and above T_c finite-size |m| > 0.
                ("|m|", obs["abs_magnetization"],
                 pg.ising.onsager_magnetization(t) if t < pg.ising.T_C else None, "Onsager L=∞"),
                ("susceptibility", obs["susceptibility"], None, ""),
                ("Binder U", obs["binder"], None, "")]
        for name, est, ref, ref_name in rows:
            ref_text = f"{ref:+.5f} ({ref_name}, z = {est.z_score(ref):+.1f})" if ref is not None else ""
            click.echo(f"  {name:<16} {format(est, '+.5f'):<24} {ref_text}")
        pg.data.save(out / f"ising_T{t:g}.npz", run.spins, metadata=run.metadata)
    plot = plot_temperature_scan(L, temperatures, estimates, out / "observables.png")
    click.echo(f"\nwrote {plot} and the samples in {out}/")
