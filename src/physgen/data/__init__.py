"""Data in and out: file formats with validation, and toy distributions.

>>> import physgen as pg
>>> pg.data.save("ring.npz", pg.data.gaussian_ring(1000, seed=0), metadata={"seed": 0})
>>> ds = pg.data.load("ring.npz", expect="continuous")    # Dataset(x, y, metadata)
"""

from physgen.data import toy
from physgen.data.io import FORMATS, Dataset, load, save
from physgen.data.toy import (
    ModeCoverage,
    digits,
    gaussian_grid,
    gaussian_ring,
    grid_modes,
    mode_coverage,
    ring_modes,
    swiss_roll,
    two_moons,
)
from physgen.data.validate import DOMAINS, validate_array

__all__ = [
    "DOMAINS", "FORMATS", "Dataset", "ModeCoverage", "digits", "gaussian_grid",
    "gaussian_ring", "grid_modes", "load", "mode_coverage", "ring_modes", "save",
    "swiss_roll", "toy", "two_moons", "validate_array",
]
