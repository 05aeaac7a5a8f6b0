"""physgen: generative modelling for the physical sciences.

Sub-packages are imported lazily so that ``import physgen`` stays fast and the
command line does not pay for PyTorch when it only simulates the Ising model.

>>> import physgen as pg
>>> X = pg.ising.sample(L=8, temperature=2.27, n_samples=100, seed=0)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "analysis", "cli", "data", "errors", "ising", "metrics", "models", "random",
    "report", "samplers", "stats", "training",
)
# public functions that live in a sub-module: name -> "module:attribute"
_FUNCTIONS = {
    "load": "physgen.models.base:load",
    "evaluate": "physgen.report.evaluate:evaluate",
    "Estimate": "physgen.stats:Estimate",
}

__all__ = [*_SUBMODULES, *_FUNCTIONS, "__version__"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"physgen.{name}")
    if name in _FUNCTIONS:
        module, attribute = _FUNCTIONS[name].split(":")
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'physgen' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
