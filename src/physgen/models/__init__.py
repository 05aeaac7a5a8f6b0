"""Generative model families, one file each. Imported lazily (PyTorch is heavy).

``FAMILIES`` maps the command-line name of each family to ``"module:Class"``.
"""

from __future__ import annotations

import importlib

FAMILIES = {
    "rbm": "physgen.models.rbm:RBM",
    "dbn": "physgen.models.dbn:DBN",
    "bm": "physgen.models.boltzmann:BoltzmannMachine",
    "gan": "physgen.models.gan:GAN",
    "vae": "physgen.models.vae:VAE",
    "ebm": "physgen.models.ebm:EBM",
    "diffusion": "physgen.models.diffusion:Diffusion",
}
_CLASSES = {target.split(":")[1]: target for target in FAMILIES.values()}
_CLASSES["GenerativeModel"] = "physgen.models.base:GenerativeModel"

__all__ = [*_CLASSES, "FAMILIES", "get_family"]


def get_family(name: str):
    """The model class for a command-line family name (``"rbm"``, ``"gan"``, ...)."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; expected one of {', '.join(FAMILIES)}")
    module, cls = FAMILIES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def __getattr__(name: str):
    if name in _CLASSES:
        module, cls = _CLASSES[name].split(":")
        return getattr(importlib.import_module(module), cls)
    raise AttributeError(f"module 'physgen.models' has no attribute {name!r}")
