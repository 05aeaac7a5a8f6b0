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
    """The main job: simulate, check against exact results, train, sample, evaluate, report.

    1. Simulates the L×L Ising model below, at and above T_c and compares the observables
       with Kaufman's and Onsager's exact values (plot: observables.png).
    2. Trains the fully visible Boltzmann machine (the inverse Ising problem) on 4×4
       samples at T = 3, where every state can be enumerated, draws new samples, and
       writes the evaluation report (report/report.html, report/metrics.json).
    """
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
    _learn_and_judge(out, seed)


def _learn_and_judge(out: Path, seed: int, L: int = 4, temperature: float = 3.0,
                     n_samples: int = 20_000) -> None:
    """Inverse Ising on a lattice small enough to enumerate: learn, sample, evaluate."""
    import physgen as pg

    click.echo(f"\nLearning: Boltzmann machine on {n_samples} samples of the {L}×{L} model "
               f"at T = {temperature:g} (exact couplings: 1/T = {1 / temperature:.4f} between "
               "neighbours, 0 otherwise)")
    streams = np.random.default_rng(seed + 1).spawn(3)
    real = pg.ising.sample(L, temperature, n_samples, seed=streams[0])
    pg.data.save(out / "train.npz", real, metadata={"L": L, "temperature": temperature})
    model = pg.models.BoltzmannMachine(seed=int(streams[1].integers(2**31))).fit(real)
    model.save(out / "run", overwrite=True)
    fake = model.sample(n_samples, seed=streams[2])
    pg.data.save(out / "generated.npz", fake, metadata={"L": L, "temperature": temperature})
    n = L * L
    neighbours = np.zeros((n, n), dtype=bool)
    for i in range(n):
        r, c = divmod(i, L)
        for j in (r * L + (c + 1) % L, ((r + 1) % L) * L + c):
            neighbours[i, j] = neighbours[j, i] = True
    truth = np.where(neighbours, 1.0 / temperature, 0.0)
    upper = np.triu_indices(n, 1)
    error = np.abs(model.couplings_ - truth)[upper].max()
    click.echo(f"  learned neighbour couplings: {model.couplings_[neighbours].mean():.4f} "
               f"(mean); largest error over all pairs {error:.4f}")
    exact = pg.ising.exact(L, temperature)
    kl = float(np.sum(np.exp(exact.log_prob) * (exact.log_prob - model.score_samples(exact.states))))
    click.echo(f"  exact KL(p_true ‖ p_model) by enumeration: {kl:.5f} nats")
    evaluation = pg.evaluate(real=real, fake=fake, temperature=temperature, run=out / "run",
                             seed=seed)
    evaluation.to_html(out / "report")
    evaluation.to_json(out / "report" / "metrics.json")
    click.echo(evaluation.summary())
    click.echo(f"\nwrote the model to {out / 'run'} and the report to "
               f"{out / 'report' / 'report.html'}")
