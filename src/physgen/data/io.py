"""Data files in and out: ``.npz``, ``.npy``, ``.csv``, ``.h5`` / ``.hdf5``.

What each format holds
----------------------
==========  =====  =====  ==========  =============================================
format      x      y      metadata    notes
==========  =====  =====  ==========  =============================================
``.npz``    yes    yes    yes         arrays ``x``, ``y``; ``metadata`` is a 0-d
                                      string array holding a JSON object.
                                      Written deterministically (fixed zip
                                      timestamps, sorted JSON keys): same inputs,
                                      same bytes.
``.npy``    yes    no     no          dtype and shape kept.
``.csv``    2-D    no     no          one row per sample, comma separated, an
                                      optional header line (a first line none of
                                      whose fields is a number); ``#`` comments.
                                      Values are kept exactly; the dtype comes
                                      back as int64 when every field is an
                                      integer (bool and integer data), float64
                                      otherwise (float data is written with 17
                                      significant digits in ``e`` notation).
``.h5``     yes    yes    yes         datasets ``x``, ``y`` at the root; metadata
                                      a JSON string attribute ``metadata`` on the
                                      root. External links, soft links that lead
                                      through external links, external raw
                                      storage and virtual datasets are refused:
                                      a data file never makes physgen read another.
==========  =====  =====  ==========  =============================================

Pickles are never loaded: object arrays are detected from the ``.npy`` header
and refused before any data is read, and ``allow_pickle=False`` is always passed.

Writing goes to a temporary file in the target directory which is then renamed
over the target (``os.replace``), so an interrupted save never leaves a
half-written file and never damages a file that was there before.
"""

from __future__ import annotations

import os
import posixpath
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from physgen.data.validate import (
    DOMAINS,
    check_dtype,
    metadata_from_json,
    metadata_to_json,
    validate_array,
    validate_labels,
)
from physgen.errors import DataError

FORMATS = {
    ".npz": ("x", "y", "metadata"),
    ".npy": ("x",),
    ".csv": ("x",),
    ".h5": ("x", "y", "metadata"),
    ".hdf5": ("x", "y", "metadata"),
}
"""Suffix -> what a file of that format can hold."""

# the earliest time a zip header can hold: fixed so the same arrays give the same bytes
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# errors the numpy, zipfile and zlib readers raise for truncated or damaged input
_CORRUPT = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError)


@dataclass(frozen=True, eq=False)
class Dataset:
    """Samples read from a file.

    Attributes
    ----------
    x : np.ndarray, shape (n_samples, *event_shape)
    y : np.ndarray of shape (n_samples, ...) or None
        Labels (class or continuous, e.g. temperature), when the file has them.
    metadata : dict
        The stored JSON object (empty for ``.npy`` and ``.csv``).
    """

    x: np.ndarray
    y: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"{path}: unknown extension {path.suffix or '(none)'!r}; expected one "
                        f"of {', '.join(FORMATS)}")
    return suffix


# ----------------------------------------------------------------------------- reading


def load(path, *, expect: str | None = None) -> Dataset:
    """Read and check a data file.

    Parameters
    ----------
    path : str or path-like
        A ``.npz``, ``.npy``, ``.csv``, ``.h5`` or ``.hdf5`` file.
    expect : {"spins", "bits", "continuous"} or None
        Domain the values of ``x`` must lie in (see :func:`validate_array`).

    Returns
    -------
    Dataset
        ``x`` of shape (n_samples, *event_shape), ``y`` (n_samples, ...) or None,
        and the metadata dict.

    Raises
    ------
    DataError
        One error naming the file, the problem and the expected form: a missing
        file, a directory, an unknown extension, a corrupt or truncated file, a
        pickled payload, wrong dtype or rank, no samples, NaN/inf, values outside
        ``expect``, labels of the wrong length, or metadata that is not a JSON object.
    """
    if expect not in (None, *DOMAINS):
        raise ValueError(f"expect must be one of {DOMAINS} or None, got {expect!r}")
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a directory; expected a data file "
                        f"({', '.join(FORMATS)})")
    if not path.exists():
        raise DataError(f"{path}: no such file; expected an existing data file "
                        f"({', '.join(FORMATS)})")
    suffix = _suffix(path)
    try:
        open(path, "rb").close()
    except OSError as exc:  # otherwise a permission problem would read as a corrupt file
        raise DataError(f"{path}: cannot be read ({exc.strerror}); expected a readable "
                        "data file") from None
    x, y, metadata = _READERS[suffix](path)
    x = validate_array(x, "x", expect=expect, source=path)
    if y is not None:
        y = validate_labels(y, x.shape[0], source=path)
    return Dataset(x=x, y=y, metadata=metadata)


def _read_npy_member(open_member, name: str, source, *, metadata: bool = False) -> np.ndarray:
    """Read one ``.npy`` stream, refusing object arrays from the header alone.

    ``open_member()`` returns a fresh binary file object positioned at the start.
    """
    try:
        with open_member() as fp:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(fp)
            else:  # 2.0 and 3.0 differ only in the header's length field / text encoding
                _, _, dtype = np.lib.format.read_array_header_2_0(fp)
    except _CORRUPT as exc:
        raise DataError(f"{source}: {name} is truncated or corrupt ({exc}); expected a "
                        "complete .npy array") from None
    if dtype.hasobject:
        raise DataError(f"{source}: {name} is an object array, i.e. a pickled payload, which "
                        "physgen never loads; expected a numeric array (save with "
                        "allow_pickle=False)")
    if metadata:
        if dtype.kind not in "US":
            raise DataError(f"{source}: metadata has dtype {dtype}; expected a JSON string "
                            "(np.array(json.dumps({...})))")
    else:
        check_dtype(dtype, name, source=source)
    try:
        with open_member() as fp:
            return np.lib.format.read_array(fp, allow_pickle=False)
    except _CORRUPT as exc:
        raise DataError(f"{source}: {name} is truncated or corrupt ({exc}); expected a "
                        "complete .npy array") from None


def _read_npy(path: Path):
    x = _read_npy_member(lambda: open(path, "rb"), "x", path)
    return x, None, {}


def _read_npz(path: Path):
    try:
        archive = zipfile.ZipFile(path)
    except _CORRUPT as exc:
        raise DataError(f"{path}: not a valid .npz (zip) file ({exc}); expected an archive "
                        "written by physgen.data.save or np.savez") from None
    with archive:
        members = {name[:-4]: name for name in archive.namelist() if name.endswith(".npy")}
        if "x" not in members:
            found = ", ".join(sorted(members)) or "no arrays"
            raise DataError(f"{path}: has no array named 'x' (found {found}); expected "
                            "np.savez(path, x=samples[, y=labels])")

        def read(name, **kwargs):
            return _read_npy_member(lambda: archive.open(members[name]), name, path, **kwargs)

        x = read("x")
        y = read("y") if "y" in members else None
        metadata = {}
        if "metadata" in members:
            stored = read("metadata", metadata=True)
            if stored.size != 1:
                raise DataError(f"{path}: metadata has shape {stored.shape}; expected a single "
                                "JSON string")
            metadata = metadata_from_json(stored.reshape(()).item(), source=path)
    return x, y, metadata


def _csv_layout(path: Path) -> int:
    """Check the table's shape line by line; return the number of lines before the data.

    Hand-written because ``np.loadtxt`` reports ragged rows in its own words and
    has no notion of an optional header line.
    """
    header_lines, n_fields, first_line, n_rows = 0, None, None, 0
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                content = line.split("#", 1)[0].strip()
                if not content:
                    continue
                fields = content.split(",")
                if n_fields is None:
                    n_fields, first_line = len(fields), number
                    if not any(_is_number(value) for value in fields):
                        header_lines = number
                        continue
                elif len(fields) != n_fields:
                    raise DataError(f"{path}: ragged rows: line {number} has {len(fields)} "
                                    f"fields but line {first_line} has {n_fields}; expected the "
                                    "same number of comma-separated values in every row")
                n_rows += 1
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                        "expected a comma-separated table of numbers") from None
    if n_rows == 0:
        raise DataError(f"{path}: has 0 samples; expected one row of comma-separated numbers "
                        "per sample")
    return header_lines


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_csv(path: Path):
    skip = _csv_layout(path)
    # int64 first so that integer tables (spins, bits, counts) come back as integers
    for dtype in (np.int64, np.float64):
        try:
            x = np.loadtxt(path, delimiter=",", dtype=dtype, ndmin=2, skiprows=skip,
                           comments="#", encoding="utf-8")
            break
        except (ValueError, OverflowError) as exc:
            error = exc
    else:
        raise DataError(f"{path}: is not a numeric table ({error}); expected rows of "
                        "comma-separated numbers, one row per sample, with an optional "
                        "header line") from None
    return x, None, {}


def _h5_open(path: Path, mode: str):
    import h5py

    try:
        return h5py.File(path, mode)
    except OSError as exc:
        if mode != "r":
            raise
        raise DataError(f"{path}: is not a readable HDF5 file ({exc}); expected an HDF5 "
                        "file with a dataset 'x'") from None


def _h5_resolve(f, name: str, path: Path, depth: int = 0) -> str:
    """Absolute path of object ``name`` reached through hard links only.

    Hand-written because h5py follows external links (opening other files) as soon
    as an object is accessed; here every link on the way is inspected first.
    """
    import h5py

    if depth > 16:
        raise DataError(f"{path}: soft links nested more than 16 deep at {name!r}; expected "
                        "datasets stored in the file")
    current = "/"
    for part in (p for p in name.split("/") if p):
        group = f[current]  # reached through hard links only
        if not isinstance(group, h5py.Group):
            return ""
        link = group.get(part, getlink=True)
        where = posixpath.join(current, part)
        if link is None:
            return ""
        if isinstance(link, h5py.ExternalLink):
            raise DataError(f"{path}: {where} is an external link to {link.filename}:{link.path}"
                            ", which physgen refuses to follow; expected datasets stored in "
                            "the file itself")
        if isinstance(link, h5py.SoftLink):
            target = posixpath.normpath(posixpath.join(current, link.path))
            current = _h5_resolve(f, target, path, depth + 1)
            if not current:
                raise DataError(f"{path}: {where} is a soft link to {link.path}, which does "
                                "not exist; expected datasets stored in the file")
        elif isinstance(link, h5py.HardLink):
            current = where
        else:
            raise DataError(f"{path}: {where} is a {type(link).__name__}, which physgen "
                            "refuses to follow; expected datasets stored in the file itself")
    return current


def _h5_dataset(f, name: str, path: Path):
    import h5py

    resolved = _h5_resolve(f, name, path)
    if not resolved:
        return None
    dset = f[resolved]
    if not isinstance(dset, h5py.Dataset):
        raise DataError(f"{path}: {name} is a {type(dset).__name__}; expected a dataset")
    if dset.is_virtual:
        raise DataError(f"{path}: {name} is a virtual dataset (mapped from other files), "
                        "which physgen refuses; expected a dataset stored in the file itself")
    if dset.external:
        files = ", ".join(str(entry[0]) for entry in dset.external)
        raise DataError(f"{path}: {name} keeps its data in external files ({files}), which "
                        "physgen refuses; expected a dataset stored in the file itself")
    if dset.shape is None:
        raise DataError(f"{path}: {name} is an empty (null) dataset; expected an array")
    check_dtype(dset.dtype, name, source=path)
    try:
        return dset[()]
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: {name} cannot be read, the file is corrupt ({exc}); "
                        "expected a complete HDF5 dataset") from None


def _read_h5(path: Path):
    with _h5_open(path, "r") as f:
        try:
            x = _h5_dataset(f, "x", path)
            if x is None:
                found = ", ".join(sorted(f.keys())) or "nothing"
                raise DataError(f"{path}: has no dataset 'x' at the root (found {found}); "
                                "expected datasets 'x' and optionally 'y'")
            y = _h5_dataset(f, "y", path)
            stored = f.attrs.get("metadata")
        except (OSError, KeyError, RuntimeError) as exc:
            raise DataError(f"{path}: is corrupt ({exc}); expected a readable HDF5 "
                            "file") from None
        metadata = {} if stored is None else metadata_from_json(stored, source=path)
    return x, y, metadata


_READERS = {".npz": _read_npz, ".npy": _read_npy, ".csv": _read_csv,
            ".h5": _read_h5, ".hdf5": _read_h5}


# ----------------------------------------------------------------------------- writing


def save(path, x, y=None, metadata: dict | None = None) -> Path:
    """Check and write samples, atomically; an existing file is replaced.

    Parameters
    ----------
    path : str or path-like
        Target file; the format follows the extension (see the module docstring).
        Missing parent directories are created.
    x : array-like, shape (n_samples, *event_shape)
        Numeric, finite, at least 2-D. ``.csv`` takes 2-D only.
    y : array-like of shape (n_samples, ...), optional
        Labels; ``.npz`` and ``.h5`` only.
    metadata : dict, optional
        JSON-serialisable (string keys; numpy scalars and numeric arrays are stored
        as their Python values); ``physgen_version`` is added. ``.npz`` and ``.h5``
        only. No time stamp is added: the same inputs give the same bytes.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    DataError
        Invalid ``x``, ``y`` or ``metadata``, something the format cannot hold,
        or a path that is a directory or cannot be written. Nothing is written then.
    """
    from physgen import __version__

    path = Path(path)
    suffix = _suffix(path)
    x = validate_array(x, "x")
    if y is not None:
        y = validate_labels(y, x.shape[0])
    metadata = {} if metadata is None else metadata
    metadata_to_json(metadata)  # refuse a non-dict before merging
    holds = FORMATS[suffix]
    for what, given in (("y", y is not None), ("metadata", bool(metadata))):
        if given and what not in holds:
            raise DataError(f"{path}: the {suffix} format holds x only, so {what} would be "
                            f"lost; expected a .npz or .h5 path to keep {what}")
    meta_json = metadata_to_json({**metadata, "physgen_version": __version__})
    if suffix == ".csv":
        _check_csv_writable(path, x)
    if path.is_dir():
        raise DataError(f"{path}: is a directory; expected a file path to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{path}: cannot create directory {path.parent} ({exc.strerror}); "
                        "expected a writable location") from None
    _atomic_write(path, lambda tmp: _WRITERS[suffix](tmp, x, y, meta_json))
    return path


def _atomic_write(path: Path, write) -> None:
    """Run ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        # created here (not by mkstemp) so permissions follow the umask like any new file
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise DataError(f"{path}: cannot write in {path.parent} ({exc.strerror}); expected a "
                        "writable location") from None
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # the bytes are on disk before the name points at them
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_npz(tmp: Path, x, y, meta_json: str) -> None:
    # np.savez stamps members with the current time; this is its loop with a fixed stamp
    members = [("x", x)] + ([("y", y)] if y is not None else [])
    members.append(("metadata", np.array(meta_json)))
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in members:
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as fp:
                np.lib.format.write_array(fp, array, allow_pickle=False)


def _write_npy(tmp: Path, x, y, meta_json: str) -> None:
    with open(tmp, "wb") as fp:
        np.lib.format.write_array(fp, x, allow_pickle=False)


def _check_csv_writable(path: Path, x: np.ndarray) -> None:
    if x.ndim != 2:
        raise DataError(f"{path}: x has shape {x.shape}, but a .csv file holds a 2-D table "
                        "(n_samples, n_features); expected x.reshape(len(x), -1) or a .npz path")
    if x.dtype.kind == "f" and x.dtype.itemsize > 8:
        raise DataError(f"{path}: x has dtype {x.dtype}, which .csv (float64) cannot hold "
                        "exactly; expected float64 or narrower, or a .npz path")
    if x.dtype.kind == "u" and x.max() > np.iinfo(np.int64).max:
        raise DataError(f"{path}: x holds integers above 2**63 - 1, which .csv (int64) cannot "
                        "hold; expected smaller values or a .npz path")


def _write_csv(tmp: Path, x, y, meta_json: str) -> None:
    header = ",".join(f"x{i}" for i in range(x.shape[1]))
    if x.dtype.kind == "f":
        # 17 significant digits round-trip float64 exactly; the 'e' marks the column as float
        np.savetxt(tmp, x.astype(np.float64), fmt="%.16e", delimiter=",", header=header,
                   comments="")
    else:
        np.savetxt(tmp, x.astype(np.int64), fmt="%d", delimiter=",", header=header,
                   comments="")


def _write_h5(tmp: Path, x, y, meta_json: str) -> None:
    with _h5_open(tmp, "w") as f:
        f.create_dataset("x", data=x, track_times=False)
        if y is not None:
            f.create_dataset("y", data=y, track_times=False)
        f.attrs["metadata"] = meta_json


_WRITERS = {".npz": _write_npz, ".npy": _write_npy, ".csv": _write_csv,
            ".h5": _write_h5, ".hdf5": _write_h5}
