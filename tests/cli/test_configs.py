"""The example run configurations in configs/ resolve for the family their name starts with."""

from __future__ import annotations

from pathlib import Path

import pytest

from physgen.cli.train import _read_config, resolve_settings
from physgen.models import get_family

CONFIGS = sorted((Path(__file__).parents[2] / "configs").glob("*.toml"))


def test_there_are_example_configs():
    assert CONFIGS


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_builds_its_model(path):
    cls = get_family(path.name.split("-")[0])
    settings = resolve_settings(cls, _read_config(path), [])
    model = cls(**settings)
    assert model.get_params()["seed"] == 0
