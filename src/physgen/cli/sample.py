"""``physgen sample RUN``: draw samples from a saved run directory into a data file."""

from __future__ import annotations

import inspect

import click

from physgen.cli.options import check_output_file

# names under which a family's sample() takes the length of its sampler (--steps)
STEP_PARAMETERS = ("steps", "burn_in")


@click.command(name="sample")
@click.argument("run", type=click.Path())
@click.option("--n-samples", type=click.IntRange(min=1), required=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="Output file (.npz, .npy, .csv, .h5).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--steps", type=click.IntRange(min=0), default=None,
              help="Sampler steps (Gibbs sweeps, Langevin or denoising steps), for families "
                   "whose sampler has them.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def command(run, n_samples, out, seed, steps, force):
    """Draw --n-samples samples from the model saved in RUN."""
    import physgen as pg

    path = check_output_file(out, force)
    model = pg.load(run)
    options = {}
    if steps is not None:
        accepted = [p for p in STEP_PARAMETERS if p in inspect.signature(model.sample).parameters]
        if not accepted:
            raise ValueError(f"{type(model).__name__}.sample takes no steps; drop --steps")
        options[accepted[0]] = steps
    x = model.sample(n_samples, seed=seed, **options)
    metadata = {"generator": f"physgen sample ({type(model).__name__})", "run": str(run),
                "seed": seed, "domain": model.domain_, "physgen_version": pg.__version__}
    if steps is not None:
        metadata["steps"] = steps
    pg.data.save(path, x, metadata=metadata)
    click.echo(f"wrote {len(x)} samples of shape {x.shape[1:]} to {path}")
