"""``physgen ising``: simulate the Ising model and save the samples."""

from __future__ import annotations

import click
import numpy as np
from tqdm.auto import tqdm

from physgen.cli.options import check_output_file, parse_temperatures


@click.command(name="ising")
@click.option("--L", "L", type=click.IntRange(min=2), default=16, show_default=True,
              help="Linear lattice size.")
@click.option("--temperature", "-T", "temperature", multiple=True, default=("2.27",),
              show_default=True, help="A temperature, a list 1.5,2.27 or a range 1.5:3.5:9.")
@click.option("--n-samples", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Samples per temperature.")
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="Output file (.npz, .npy, .csv, .h5).")
@click.option("--dim", type=click.Choice(["1", "2"]), default="2", show_default=True,
              help="2: L×L torus; 1: a ring of L spins.")
@click.option("--J", "J", type=float, default=1.0, show_default=True, help="Coupling.")
@click.option("--h", "h", type=float, default=0.0, show_default=True, help="Field.")
@click.option("--algorithm", type=click.Choice(["auto", "metropolis", "wolff"]), default="auto",
              show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def command(L, temperature, n_samples, out, dim, J, h, algorithm, seed, force):
    """Simulate the Ising model; write spins (and temperature labels) with metadata."""
    import physgen as pg

    temperatures = parse_temperatures(temperature)
    path = check_output_file(out, force)
    holds = pg.data.FORMATS[path.suffix.lower()]
    if len(temperatures) > 1 and "y" not in holds:
        raise click.BadParameter(f"{path.suffix} files cannot hold the temperature labels of "
                                 "several temperatures; expected a .npz or .h5 path",
                                 param_hint="--out")
    streams = np.random.default_rng(seed).spawn(len(temperatures))
    runs = []
    for t, stream in tqdm(list(zip(temperatures, streams)), desc="temperatures", unit="T",
                          disable=None if len(temperatures) > 1 else True):
        runs.append(pg.ising.simulate(L, float(t), n_samples, dim=int(dim), J=J, h=h,
                                      algorithm=algorithm, seed=stream))
    x = np.concatenate([r.spins for r in runs])
    metadata = {key: runs[0].metadata[key] for key in ("generator", "L", "dim", "J", "h")}
    metadata.update(seed=seed, n_per_temperature=n_samples,
                    runs=[{k: v for k, v in r.metadata.items() if k not in metadata}
                          for r in runs])
    if len(temperatures) == 1:
        metadata["temperature"] = float(temperatures[0])
        y = None
    else:
        metadata["temperatures"] = temperatures.tolist()
        y = np.repeat(temperatures, n_samples)
    if "metadata" not in holds:
        click.echo(f"note: {path.suffix} files hold the spins only; use .npz or .h5 to keep "
                   "the simulation metadata", err=True)
        metadata = None
    if path.suffix.lower() == ".csv":  # a table: one row per sample, spins row-major
        x = x.reshape(len(x), -1)
    pg.data.save(path, x, y=y, metadata=metadata)
    click.echo(f"wrote {len(x)} samples of shape {x.shape[1:]} to {path}")
    for t, r in zip(temperatures, runs):
        m = r.metadata
        click.echo(f"  T={t:.4g}: {m['algorithm']}, tau={max(m['tau_int'].values()):.2f} sweeps, "
                   f"burn-in {m['burn_in']}, thinning {m['thinning']}, "
                   f"e={r.energy.mean():+.4f}, |m|={np.abs(r.magnetization).mean():.4f}")
