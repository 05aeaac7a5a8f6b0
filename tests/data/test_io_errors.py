"""Every bad file or bad input gives one DataError naming the file, the problem and the form."""

import io
import json
import pathlib
import pickle
import zipfile

import numpy as np
import pytest

from physgen.data import io as data_io
from physgen.data import load, save
from physgen.errors import DataError


class _TouchOnUnpickle:
    """Unpickling this object creates ``marker`` (it would run code in the loader)."""

    def __init__(self, marker):
        self.marker = pathlib.Path(marker)

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def _evil_array(marker):
    array = np.empty((2, 1), dtype=object)
    array[0, 0] = _TouchOnUnpickle(marker)
    array[1, 0] = 1
    return array


def _write_npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _write_npz(path, **members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in members.items():
            archive.writestr(f"{name}.npy", _write_npy_bytes(array))


# ---------------------------------------------------------------------- paths


def test_missing_file(tmp_path):
    path = tmp_path / "absent.npz"
    with pytest.raises(DataError, match=r"absent\.npz: no such file; expected an existing"):
        load(path)


def test_directory(tmp_path):
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(DataError, match=r"d\.npz: is a directory; expected a data file"):
        load(tmp_path / "d.npz")


def test_unknown_extension(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("1,2\n")
    with pytest.raises(DataError, match=r"data\.txt: unknown extension '\.txt'; expected one "
                                        r"of \.npz, \.npy, \.csv, \.h5, \.hdf5"):
        load(path)
    with pytest.raises(DataError, match="unknown extension"):
        save(tmp_path / "out.txt", np.zeros((2, 2)))
    assert not (tmp_path / "out.txt").exists()


def test_unreadable_file(tmp_path, monkeypatch):
    path = save(tmp_path / "locked.npz", np.zeros((2, 2)))

    def refuse(*args, **kwargs):  # tests may run as root, which chmod cannot lock out
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(data_io, "open", refuse, raising=False)
    with pytest.raises(DataError, match=r"locked\.npz: cannot be read \(Permission denied\); "
                                        r"expected a readable data file"):
        load(path)


def test_bad_expect_is_refused(tmp_path):
    with pytest.raises(ValueError, match="expect must be one of"):
        load(tmp_path / "x.npz", expect="spin")


# ---------------------------------------------------------------------- array contents


def _write_raw(path, **members):
    """Write members with numpy/h5py directly, bypassing save()'s checks."""
    if path.suffix == ".npz":
        np.savez(path, **members)
    elif path.suffix == ".npy":
        np.save(path, members["x"])
    else:
        import h5py

        with h5py.File(path, "w") as f:
            for name, value in members.items():
                if name == "metadata":
                    f.attrs["metadata"] = value
                else:
                    f.create_dataset(name, data=value)


def _with_value(value, index=(1, 0)):
    x = np.zeros((3, 2))
    x[index] = value
    return x


@pytest.mark.parametrize("suffix", [".npz", ".npy", ".h5"])
@pytest.mark.parametrize("x, match", [
    (np.zeros((0, 3)), r"x has 0 samples \(shape \(0, 3\)\); expected at least one sample"),
    (np.zeros((3, 0)), r"x has 0 features \(shape \(3, 0\)\); expected at least one value"),
    (np.zeros((4, 2, 0)), r"x has 0 features"),
    (np.arange(5.0), r"x is 1-D with shape \(5,\); expected at least 2-D \(n_samples, "
                     r"\*event_shape\); use x\.reshape\(-1, 1\)"),
    (np.float64(3.0), r"x is 0-D with shape \(\); expected at least 2-D"),
    (_with_value(np.nan), r"x contains 1 NaN or infinite values \(first at index \(1, 0\), "
                          r"value nan\); expected finite numbers"),
    (_with_value(np.inf), r"x contains 1 NaN or infinite values .*value inf"),
    (_with_value(-np.inf), r"x contains 1 NaN or infinite values .*value -inf"),
])
def test_bad_array_contents(tmp_path, suffix, x, match):
    path = tmp_path / f"bad{suffix}"
    _write_raw(path, x=x)
    with pytest.raises(DataError, match=f"bad\\{suffix}: {match}"):
        load(path)


@pytest.mark.parametrize("suffix", [".npz", ".npy"])
@pytest.mark.parametrize("x, what", [
    (np.array([["a", "b"]]), "strings"),
    (np.array([[1 + 2j]]), "complex numbers"),
    (np.array([[b"a"]]), "byte strings"),
    (np.zeros((2, 1), dtype=[("a", "f8"), ("b", "i4")]), "structured records"),
    (np.array([["2020-01-01"]], dtype="datetime64[D]"), "datetimes"),
])
def test_non_numeric_dtypes(tmp_path, suffix, x, what):
    path = tmp_path / f"t{suffix}"
    _write_raw(path, x=x)
    with pytest.raises(DataError, match=f"x holds {what} .*expected a numeric array"):
        load(path)


def test_h5_string_and_complex_datasets(tmp_path):
    import h5py

    path = tmp_path / "t.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.array([["a", "b"]], dtype=h5py.string_dtype()))
    with pytest.raises(DataError, match=r"t\.h5: x holds Python objects .*expected a numeric"):
        load(path)
    _write_raw(path, x=np.ones((2, 2), dtype=complex))
    with pytest.raises(DataError, match=r"x holds complex numbers"):
        load(path)


@pytest.mark.parametrize("suffix", [".npz", ".npy", ".h5", ".csv"])
def test_spins_outside_domain(tmp_path, suffix):
    x = np.ones((4, 3), dtype=np.int8)
    x[2, 1] = 0
    path = save(tmp_path / f"s{suffix}", x)
    with pytest.raises(DataError, match=r"x has values outside \{1, -1\} \(0; first at index "
                                        r"\(2, 1\)\); expected spins in \{-1, \+1\} \(bits 0/1 "
                                        r"convert with 2 \* x - 1\)"):
        load(path, expect="spins")
    assert load(path, expect="bits").x.shape == (4, 3)
    assert load(path, expect="continuous").x.shape == (4, 3)


def test_bits_outside_domain(tmp_path):
    path = save(tmp_path / "b.npz", np.array([[1, -1], [1, 1]]))
    with pytest.raises(DataError, match=r"b\.npz: x has values outside \{0, 1\} \(-1; .*"
                                        r"expected bits in \{0, 1\} \(spins -1/\+1 convert"):
        load(path, expect="bits")
    assert load(path, expect="spins").x.shape == (2, 2)


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_label_length_mismatch(tmp_path, suffix):
    path = tmp_path / f"y{suffix}"
    _write_raw(path, x=np.zeros((4, 2)), y=np.arange(3))
    with pytest.raises(DataError, match=r"y has 3 entries but x has 4 samples; expected one "
                                        r"label per sample"):
        load(path)


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_bad_labels(tmp_path, suffix):
    path = tmp_path / f"y{suffix}"
    _write_raw(path, x=np.zeros((2, 2)), y=np.array([0.0, np.nan]))
    with pytest.raises(DataError, match=r"y contains 1 NaN or infinite values"):
        load(path)
    _write_raw(path, x=np.zeros((2, 2)), y=np.float64(1.0))
    with pytest.raises(DataError, match=r"y is 0-D with shape \(\); expected at least 1-D"):
        load(path)


# ---------------------------------------------------------------------- pickles


def test_pickled_npy_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npy"
    path.write_bytes(_write_npy_bytes(_evil_array(marker)))
    with pytest.raises(DataError, match=r"evil\.npy: x is an object array, i\.e\. a pickled "
                                        r"payload, which physgen never loads"):
        load(path)
    assert not marker.exists()
    # the payload is live: numpy with pickles allowed does run it
    np.load(path, allow_pickle=True)
    assert marker.exists()


@pytest.mark.parametrize("member", ["x", "y", "metadata"])
def test_pickled_npz_member_is_refused_without_running_it(tmp_path, member):
    marker = tmp_path / "pwned"
    members = {"x": np.zeros((2, 1)), "y": np.zeros(2), "metadata": np.array("{}")}
    members[member] = _evil_array(marker)
    path = tmp_path / "evil.npz"
    _write_npz(path, **members)
    with pytest.raises(DataError, match=f"evil\\.npz: {member} is an object array, i\\.e\\. a "
                                        "pickled payload"):
        load(path)
    assert not marker.exists()


def test_pickle_file_with_npy_name_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "raw.npy"
    path.write_bytes(pickle.dumps(_TouchOnUnpickle(marker)))
    with pytest.raises(DataError, match=r"raw\.npy: x is truncated or corrupt .*expected a "
                                        r"complete \.npy array"):
        load(path)
    assert not marker.exists()


# ---------------------------------------------------------------------- corrupt files


@pytest.mark.parametrize("suffix, match", [
    (".npz", r"not a valid \.npz \(zip\) file"),
    (".npy", r"x is truncated or corrupt"),
    (".h5", r"is not a readable HDF5 file \(.*signature"),
    (".hdf5", r"is not a readable HDF5 file"),
])
def test_garbage_bytes(tmp_path, suffix, match):
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(b"this is not a data file at all\n" * 10)
    with pytest.raises(DataError, match=match):
        load(path)


@pytest.mark.parametrize("suffix, match", [
    (".npz", r"truncated or corrupt|not a valid \.npz"),
    (".npy", r"x is truncated or corrupt"),
    (".h5", r"not a readable HDF5 file|corrupt"),
])
@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_files(tmp_path, suffix, match, keep):
    path = save(tmp_path / f"cut{suffix}", np.arange(400.0).reshape(100, 4),
                **({"y": np.arange(100)} if suffix != ".npy" else {}))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(DataError, match=match):
        load(path)


@pytest.mark.parametrize("writer", [save, lambda path, x: np.savez(path, x=x) or path])
def test_npz_with_flipped_bytes_is_corrupt(tmp_path, writer):
    # save() deflates (zlib notices); np.savez stores (the zip CRC-32 notices)
    path = writer(tmp_path / "flip.npz", np.arange(4000.0).reshape(1000, 4))
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF  # inside the data of x
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"flip\.npz: x is truncated or corrupt"):
        load(path)


def test_empty_files(tmp_path):
    for suffix in (".npz", ".npy", ".h5", ".csv"):
        path = tmp_path / f"zero{suffix}"
        path.write_bytes(b"")
        with pytest.raises(DataError, match=r"zero\."):
            load(path)


def test_npz_without_x(tmp_path):
    path = tmp_path / "noname.npz"
    np.savez(path, np.zeros((2, 2)))
    with pytest.raises(DataError, match=r"has no array named 'x' \(found arr_0\); expected "
                                        r"np\.savez\(path, x=samples"):
        load(path)


def test_h5_without_x(tmp_path):
    path = tmp_path / "nox.h5"
    _write_raw(path, data=np.zeros((2, 2)))
    with pytest.raises(DataError, match=r"has no dataset 'x' at the root \(found data\)"):
        load(path)


def test_h5_x_is_a_group(tmp_path):
    import h5py

    path = tmp_path / "g.h5"
    with h5py.File(path, "w") as f:
        f.create_group("x")
    with pytest.raises(DataError, match=r"x is a Group; expected a dataset"):
        load(path)


# ---------------------------------------------------------------------- metadata


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
@pytest.mark.parametrize("text, match", [
    ("{not json", r"metadata is not valid JSON \(.*\); expected a JSON object"),
    ("[1, 2]", r"metadata is a JSON list, not an object; expected a JSON object"),
    ('"just text"', r"metadata is a JSON str, not an object"),
    ('{"t": NaN}', r"metadata is not valid JSON \(NaN is not valid JSON"),
])
def test_bad_stored_metadata(tmp_path, suffix, text, match):
    path = tmp_path / f"m{suffix}"
    _write_raw(path, x=np.zeros((2, 2)), metadata=np.array(text) if suffix == ".npz" else text)
    with pytest.raises(DataError, match=f"m\\{suffix}: {match}"):
        load(path)


def test_npz_metadata_of_wrong_type(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, x=np.zeros((2, 2)), metadata=np.arange(3))
    with pytest.raises(DataError, match=r"metadata has dtype int64; expected a JSON string"):
        load(path)
    np.savez(path, x=np.zeros((2, 2)), metadata=np.array(["{}", "{}"]))
    with pytest.raises(DataError, match=r"metadata has shape \(2,\); expected a single JSON"):
        load(path)


def test_h5_metadata_of_wrong_type(tmp_path):
    path = tmp_path / "m.h5"
    _write_raw(path, x=np.zeros((2, 2)), metadata=np.arange(3))
    with pytest.raises(DataError, match=r"metadata is a ndarray; expected a JSON string"):
        load(path)


# ---------------------------------------------------------------------- csv


@pytest.mark.parametrize("text, match", [
    ("1,2,3\n4,5\n", r"ragged rows: line 2 has 2 fields but line 1 has 3; expected the same "
                     r"number of comma-separated values in every row"),
    ("a,b,c\n1,2\n", r"ragged rows: line 2 has 2 fields but line 1 has 3"),
    ("1,2\n3,four\n", r"is not a numeric table \(.*four.*\); expected rows of comma-separated"),
    ("1,,2\n", r"is not a numeric table"),
    ("", r"has 0 samples; expected one row"),
    ("x0,x1\n", r"has 0 samples"),
    ("# only a comment\n\n", r"has 0 samples"),
    ("1,nan\n2,3\n", r"x contains 1 NaN or infinite values \(first at index \(0, 1\)"),
    ("1,2\n3,inf\n", r"x contains 1 NaN or infinite values"),
    ("1\n2\n3\n", None),  # one feature: a 2-D (3, 1) table is fine
])
def test_bad_csv(tmp_path, text, match):
    path = tmp_path / "t.csv"
    path.write_text(text)
    if match is None:
        assert load(path).x.shape == (3, 1)
        return
    with pytest.raises(DataError, match=f"t\\.csv: {match}"):
        load(path)


def test_csv_truncated_mid_row(tmp_path):
    path = save(tmp_path / "t.csv", np.arange(12).reshape(4, 3))
    text = path.read_text()
    path.write_text(text[: text.rindex(",")])
    with pytest.raises(DataError, match=r"t\.csv: ragged rows: line 5 has 2 fields"):
        load(path)


def test_csv_not_utf8(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(b"1,2\n\xff\xfe,3\n")
    with pytest.raises(DataError, match=r"b\.csv: is not UTF-8 text"):
        load(path)


# ---------------------------------------------------------------------- save() refuses


@pytest.mark.parametrize("x, match", [
    (np.arange(3.0), r"x is 1-D with shape \(3,\); expected at least 2-D"),
    (np.zeros((0, 2)), r"x has 0 samples"),
    (np.array([[np.nan]]), r"x contains 1 NaN"),
    (np.array([["a"]]), r"x holds strings"),
    (np.array([[object()]]), r"x holds Python objects \(dtype object\)"),
    ([[1, 2], [3]], r"x has ragged rows"),
])
def test_save_refuses_bad_x(tmp_path, x, match):
    with pytest.raises(DataError, match=match):
        save(tmp_path / "o.npz", x)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("metadata, match", [
    ([("a", 1)], r"metadata is a list; expected a dict"),
    ("temperature=2", r"metadata is a str; expected a dict"),
    ({"f": float("nan")}, r"metadata\['f'\] is nan, which JSON cannot hold"),
    ({"a": {"b": [1, {2}]}}, r"metadata\['a'\]\['b'\]\[1\] is a set .*expected JSON values"),
    ({1: "one"}, r"metadata has key 1 of type int; expected string keys"),
    ({"arr": np.array(["a"])}, r"metadata\['arr'\] is a ndarray"),
])
def test_save_refuses_bad_metadata(tmp_path, metadata, match):
    with pytest.raises(DataError, match=match):
        save(tmp_path / "o.npz", np.zeros((2, 2)), metadata=metadata)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_bad_labels(tmp_path):
    with pytest.raises(DataError, match=r"y has 3 entries but x has 2 samples"):
        save(tmp_path / "o.npz", np.zeros((2, 2)), y=np.arange(3))
    with pytest.raises(DataError, match=r"y holds strings"):
        save(tmp_path / "o.npz", np.zeros((2, 2)), y=np.array(["a", "b"]))


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_save_refuses_what_the_format_would_lose(tmp_path, suffix):
    x = np.zeros((2, 2))
    with pytest.raises(DataError, match=f"the \\{suffix} format holds x only, so y would be "
                                        "lost; expected a .npz or .h5 path"):
        save(tmp_path / f"o{suffix}", x, y=np.arange(2))
    with pytest.raises(DataError, match="so metadata would be lost"):
        save(tmp_path / f"o{suffix}", x, metadata={"seed": 0})
    save(tmp_path / f"o{suffix}", x, metadata={})  # nothing to lose


def test_save_csv_refuses_what_csv_cannot_hold(tmp_path):
    with pytest.raises(DataError, match=r"x has shape \(2, 2, 2\), but a \.csv file holds a "
                                        r"2-D table \(n_samples, n_features\)"):
        save(tmp_path / "o.csv", np.zeros((2, 2, 2)))
    with pytest.raises(DataError, match=r"integers above 2\*\*63 - 1"):
        save(tmp_path / "o.csv", np.array([[2**64 - 1]], dtype=np.uint64))
    if np.finfo(np.longdouble).bits > 64:
        with pytest.raises(DataError, match=r"dtype float\d+, which \.csv \(float64\) cannot"):
            save(tmp_path / "o.csv", np.ones((2, 2), dtype=np.longdouble))


def test_save_onto_a_directory(tmp_path):
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(DataError, match=r"d\.npz: is a directory; expected a file path"):
        save(tmp_path / "d.npz", np.zeros((2, 2)))


def test_save_below_a_file(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(DataError, match=r"cannot create directory .*expected a writable"):
        save(tmp_path / "f" / "o.npz", np.zeros((2, 2)))


def test_metadata_json_is_canonical(tmp_path):
    path = save(tmp_path / "m.npz", np.zeros((1, 1)), metadata={"b": 1, "a": (1, 2)})
    with np.load(path, allow_pickle=False) as stored:
        text = stored["metadata"].item()
    assert text == json.dumps({"a": [1, 2], "b": 1, "physgen_version": load(path)
                               .metadata["physgen_version"]}, sort_keys=True)
