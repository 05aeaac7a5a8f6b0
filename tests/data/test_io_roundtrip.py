"""What goes in comes back: arrays, labels and metadata through every format.

Preserved, by format:
- .npz, .npy, .h5: values, shape and dtype exactly.
- .csv (2-D only): values and shape exactly; the dtype comes back int64 for bool and
  integer data and float64 for float data.
"""

import json
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import physgen
from physgen.data import Dataset, load, save
from physgen.data import io as data_io

DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
          np.uint64, np.float16, np.float32, np.float64]
# derandomized: the same examples on every run, so the suite is never flaky
SETTINGS = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _arrays(min_dims=2, max_dims=4, dtypes=DTYPES):
    return st.sampled_from(dtypes).flatmap(lambda dtype: hnp.arrays(
        dtype, hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=4),
        elements={"allow_nan": False, "allow_infinity": False}
        if np.dtype(dtype).kind == "f" else None))


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)
_metadata = st.dictionaries(st.text(max_size=8), _json_values, max_size=4)


def _labels_for(x):
    return _arrays(min_dims=1, max_dims=2, dtypes=[np.int64, np.float32]).map(
        lambda y: np.resize(y, (x.shape[0], *y.shape[1:])))


@SETTINGS
@given(data=st.data(), suffix=st.sampled_from([".npz", ".h5", ".hdf5"]))
def test_full_roundtrip(tmp_path, data, suffix):
    x = data.draw(_arrays(), label="x")
    y = data.draw(st.none() | _labels_for(x), label="y")
    metadata = data.draw(st.none() | _metadata, label="metadata")
    path = save(tmp_path / f"d{suffix}", x, y=y, metadata=metadata)
    ds = load(path)
    assert isinstance(ds, Dataset)
    assert ds.x.dtype == x.dtype and ds.x.shape == x.shape
    np.testing.assert_array_equal(ds.x, x)
    if y is None:
        assert ds.y is None
    else:
        assert ds.y.dtype == y.dtype
        np.testing.assert_array_equal(ds.y, y)
    assert ds.metadata == {**(metadata or {}), "physgen_version": physgen.__version__}


@SETTINGS
@given(x=_arrays())
def test_npy_roundtrip(tmp_path, x):
    ds = load(save(tmp_path / "d.npy", x))
    assert ds.x.dtype == x.dtype and ds.y is None and ds.metadata == {}
    np.testing.assert_array_equal(ds.x, x)


@SETTINGS
@given(x=_arrays(max_dims=2, dtypes=[d for d in DTYPES if d is not np.uint64])
       | hnp.arrays(np.uint64, (3, 2), elements=st.integers(0, 2**63 - 1)))
def test_csv_roundtrip(tmp_path, x):
    ds = load(save(tmp_path / "d.csv", x))
    assert ds.x.dtype == (np.float64 if x.dtype.kind == "f" else np.int64)
    assert ds.x.shape == x.shape and ds.y is None and ds.metadata == {}
    np.testing.assert_array_equal(ds.x, x)


def test_csv_float_data_that_looks_integral_stays_float(tmp_path):
    x = np.array([[1.0, -2.0], [0.0, 3.0]])
    assert load(save(tmp_path / "d.csv", x)).x.dtype == np.float64
    assert load(save(tmp_path / "d.csv", x.astype(np.int8))).x.dtype == np.int64


def test_csv_written_by_others(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("# comment\n\nenergy, magnetization\n-1.5, 0.25 # inline\n 2,3\n")
    np.testing.assert_array_equal(load(path).x, [[-1.5, 0.25], [2.0, 3.0]])
    path.write_text("-1,1,1\n1,-1,1\n")
    ds = load(path, expect="spins")
    assert ds.x.dtype == np.int64 and ds.x.shape == (2, 3)


def test_spins_keep_int8(tmp_path):
    x = np.where(np.random.default_rng(0).random((10, 4, 4)) < 0.5, -1, 1).astype(np.int8)
    for suffix in (".npz", ".npy", ".h5"):
        ds = load(save(tmp_path / f"s{suffix}", x), expect="spins")
        assert ds.x.dtype == np.int8
        np.testing.assert_array_equal(ds.x, x)


def test_uppercase_extension_and_str_path(tmp_path):
    path = str(tmp_path / "D.NPZ")
    save(path, np.ones((2, 2)))
    assert load(path).x.shape == (2, 2)


def test_foreign_npz_and_h5_without_metadata(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.ones((2, 3)), y=np.arange(2), extra=np.zeros(5))
    ds = load(tmp_path / "a.npz")
    assert ds.metadata == {} and ds.y.tolist() == [0, 1]
    import h5py

    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("x", data=np.ones((2, 3)))
        f.attrs["metadata"] = np.bytes_(b'{"T": 2.0}')  # fixed-length bytes attribute
    assert load(tmp_path / "a.h5").metadata == {"T": 2.0}


def test_numpy_values_in_metadata(tmp_path):
    metadata = {"temperature": np.float64(2.27), "L": np.int64(16), "on": np.bool_(True),
                "temperatures": np.array([1.5, 2.5]), "shape": (16, 16)}
    stored = load(save(tmp_path / "m.npz", np.ones((1, 1)), metadata=metadata)).metadata
    assert stored == {"temperature": 2.27, "L": 16, "on": True, "temperatures": [1.5, 2.5],
                      "shape": [16, 16], "physgen_version": physgen.__version__}
    assert type(stored["L"]) is int and type(stored["on"]) is bool


# ---------------------------------------------------------------------- determinism


@pytest.mark.parametrize("suffix", [".npz", ".npy", ".csv", ".h5"])
def test_same_inputs_same_bytes(tmp_path, suffix):
    x = np.random.default_rng(1).normal(size=(50, 3))
    kwargs = {"y": np.arange(50), "metadata": {"seed": 1, "b": [1, 2], "a": None}} \
        if suffix in (".npz", ".h5") else {}
    first = save(tmp_path / f"a{suffix}", x, **kwargs).read_bytes()
    # dict order of the metadata does not matter either
    if "metadata" in kwargs:
        kwargs["metadata"] = dict(reversed(list(kwargs["metadata"].items())))
    second = save(tmp_path / f"b{suffix}", x, **kwargs).read_bytes()
    assert first == second


def test_npz_members_carry_a_fixed_timestamp(tmp_path):
    import zipfile

    path = save(tmp_path / "a.npz", np.ones((2, 2)), y=np.ones(2))
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["x.npy", "y.npy", "metadata.npy"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_npz_is_readable_by_numpy(tmp_path):
    x = np.arange(6, dtype=np.int8).reshape(3, 2)
    path = save(tmp_path / "a.npz", x, metadata={"seed": 3})
    with np.load(path, allow_pickle=False) as stored:
        np.testing.assert_array_equal(stored["x"], x)
        assert json.loads(stored["metadata"].item())["seed"] == 3


# ---------------------------------------------------------------------- atomic writes


def test_save_creates_parents_and_overwrites(tmp_path):
    path = tmp_path / "a" / "b" / "d.npz"
    save(path, np.zeros((2, 2)))
    save(path, np.ones((3, 2)))
    np.testing.assert_array_equal(load(path).x, np.ones((3, 2)))
    assert sorted(p.name for p in path.parent.iterdir()) == ["d.npz"]


def test_new_file_permissions_follow_umask(tmp_path):
    path = save(tmp_path / "p.npz", np.zeros((2, 2)))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("suffix", [".npz", ".npy", ".csv", ".h5"])
def test_failed_write_keeps_old_file_and_leaves_no_temporary(tmp_path, monkeypatch, suffix):
    path = save(tmp_path / f"d{suffix}", np.zeros((2, 2)))
    before = path.read_bytes()

    def crash(tmp, *args):
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt  # an interrupt mid-write

    monkeypatch.setitem(data_io._WRITERS, suffix, crash)
    with pytest.raises(KeyboardInterrupt):
        save(path, np.ones((2, 2)))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_float_metadata_round_trips_exactly(tmp_path):
    values = [0.1, 1 / 3, 2.269185314213022, -0.0, 5e-324, 1.7976931348623157e308]
    stored = load(save(tmp_path / "f.h5", np.ones((1, 1)), metadata={"v": values})).metadata
    assert all(a == b and math.copysign(1, a) == math.copysign(1, b)
               for a, b in zip(stored["v"], values))
