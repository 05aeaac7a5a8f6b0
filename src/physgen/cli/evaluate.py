"""``physgen evaluate``: judge generated samples against real ones and write the report."""

from __future__ import annotations

import math
from pathlib import Path

import click


def _temperature_from(metadata: dict):
    """The real file's temperature when it records a single positive number."""
    value = metadata.get("temperature")
    if isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value) and value > 0:
        return float(value)
    return None


def _as_lattices(dataset):
    """Samples in their lattice shape: files that store flattened L×L lattices and record
    ``L`` and ``dim`` = 2 in their metadata get their (n, L, L) shape back."""
    x, meta = dataset.x, dataset.metadata
    L, dim = meta.get("L"), meta.get("dim", 2)
    if x.ndim == 2 and isinstance(L, int) and dim == 2 and x.shape[1] == L * L:
        return x.reshape(len(x), L, L)
    return x


@click.command(name="evaluate")
@click.option("--real", "real_path", type=click.Path(dir_okay=False), required=True,
              help="Reference samples (.npz, .npy, .csv, .h5).")
@click.option("--fake", "fake_path", type=click.Path(dir_okay=False), required=True,
              help="Generated samples, same sample shape.")
@click.option("--run", "run_dir", type=click.Path(), default=None,
              help="Run directory whose history.json gives the training curves.")
@click.option("--out", type=click.Path(), required=True,
              help="Report directory: report.html and metrics.json are written there.")
@click.option("--temperature", "-T", type=float, default=None,
              help="Temperature of Ising samples (default: from the real file's metadata).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--alpha", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
              default=0.01, show_default=True, help="Significance level of the verdicts.")
@click.option("--n-permutations", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--max-samples", type=click.IntRange(min=20), default=5000, show_default=True,
              help="Subset size per set for the costly metrics.")
def command(real_path, fake_path, run_dir, out, temperature, seed, alpha, n_permutations,
            max_samples):
    """Compare --fake with --real: metrics with errors and verdicts, physics, plots."""
    import physgen as pg

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise click.BadParameter(f"{out} exists and is not a directory", param_hint="--out")
    real = pg.data.load(real_path)
    fake = pg.data.load(fake_path)
    if temperature is None:
        temperature = _temperature_from(real.metadata)
    evaluation = pg.evaluate(_as_lattices(real), _as_lattices(fake), temperature=temperature,
                             run=run_dir, seed=seed, alpha=alpha, n_permutations=n_permutations,
                             max_samples=max_samples)
    html = evaluation.to_html(out)
    metrics_json = evaluation.to_json(out / "metrics.json")
    click.echo(evaluation.summary())
    click.echo(f"wrote {html} and {metrics_json}")
