"""The GenerativeModel contract, checked for every family in contract_families.py."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import numpy as np
import pytest

import physgen as pg

_spec = importlib.util.spec_from_file_location(
    "contract_families", Path(__file__).with_name("contract_families.py"))
families = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(families)

IDS = [name for name, _ in families.FAMILY_FACTORIES]
FACTORIES = [factory for _, factory in families.FAMILY_FACTORIES]


@pytest.fixture(scope="module")
def data():
    return families.contract_data()


@pytest.fixture(scope="module", params=FACTORIES, ids=IDS)
def fitted(request, data):
    return request.param(0).fit(data)


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_settings_are_stored_unchanged(factory):
    model = factory(0)
    params = model.get_params()
    assert set(params) == set(inspect.signature(type(model).__init__).parameters) - {"self"}
    assert type(model)(**params).get_params() == params
    for shared in ("epochs", "batch_size", "learning_rate", "optimizer", "lr_schedule", "seed",
                   "device", "on_nonfinite"):
        assert shared in params
    with pytest.raises(ValueError, match="no setting"):
        model.set_params(not_a_setting=1)


def test_sample_shape_dtype_domain(fitted, data):
    samples = fitted.sample(10, seed=1)
    assert samples.shape == (10, *data.shape[1:])
    assert samples.dtype == data.dtype
    assert set(np.unique(samples)) <= {-1, 1}
    assert fitted.domain_ == "spins" and fitted.event_shape_ == data.shape[1:]


def test_same_seed_same_samples(fitted):
    np.testing.assert_array_equal(fitted.sample(10, seed=3), fitted.sample(10, seed=3))


def test_history(fitted):
    assert isinstance(fitted.history_, list) and len(fitted.history_) == fitted.epochs
    for epoch, record in enumerate(fitted.history_, start=1):
        assert isinstance(record, dict) and record["epoch"] == epoch
        assert all(np.isfinite(value) for value in record.values())


def test_save_load_gives_identical_samples(fitted, tmp_path):
    fitted.save(tmp_path / "run")
    loaded = pg.load(tmp_path / "run")
    assert type(loaded) is type(fitted)
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.sample(10, seed=5), fitted.sample(10, seed=5))
    assert loaded.history_ == fitted.history_
    if fitted.has_likelihood:
        x = fitted.sample(5, seed=6)
        np.testing.assert_array_equal(loaded.score_samples(x), fitted.score_samples(x))


def test_save_refuses_to_overwrite(fitted, tmp_path):
    fitted.save(tmp_path / "run")
    with pytest.raises(ValueError, match="already holds a saved run"):
        fitted.save(tmp_path / "run")
    fitted.save(tmp_path / "run", overwrite=True)


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_fit_does_not_mutate_input(factory, data):
    x = data.copy()
    x.setflags(write=False)   # any in-place write would raise
    factory(0).fit(x)
    np.testing.assert_array_equal(x, data)


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_fit_is_reproducible(factory, data):
    a = factory(7).fit(data).sample(8, seed=0)
    b = factory(7).fit(data).sample(8, seed=0)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_bad_input_at_fit(factory, data):
    bad = data.astype(np.float32)
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        factory(0).fit(bad)
    with pytest.raises(ValueError, match="shape"):
        factory(0).fit(data.reshape(-1))
    with pytest.raises(ValueError, match="numeric"):
        factory(0).fit(np.full((4, 3), "a"))
    with pytest.raises(ValueError, match="not fitted"):
        factory(0).sample(3)


def test_bad_input_after_fit(fitted, data):
    with pytest.raises(ValueError, match="n_samples"):
        fitted.sample(0)
    if not fitted.has_likelihood:
        with pytest.raises(ValueError, match="likelihood"):
            fitted.score_samples(data)
        return
    scores = fitted.score_samples(data[:5])
    assert scores.shape == (5,) and np.all(np.isfinite(scores)) and np.all(scores <= 0)
    with pytest.raises(ValueError, match="features"):
        fitted.score_samples(np.ones((3, 5, 5), np.int8))
    with pytest.raises(ValueError, match="shape"):
        fitted.score_samples(data[0].reshape(-1))
    with pytest.raises(ValueError, match="spins"):
        fitted.score_samples(np.zeros_like(data[:3]))
    bad = data[:3].astype(np.float64)
    bad[1, 1, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        fitted.score_samples(bad)


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_bits_in_bits_out(factory, data):
    bits = ((data + 1) // 2).astype(np.uint8)
    model = factory(0).fit(bits)
    samples = model.sample(6, seed=0)
    assert model.domain_ == "bits" and samples.dtype == np.uint8
    assert set(np.unique(samples)) <= {0, 1}


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_unavailable_device_is_a_clear_error(factory, data):
    import torch

    model = factory(0).set_params(device="tpu")
    with pytest.raises(ValueError, match="device"):
        model.fit(data)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            factory(0).set_params(device="cuda").fit(data)
