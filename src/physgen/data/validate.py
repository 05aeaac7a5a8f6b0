"""Checks shared by every reader, writer and model: arrays and metadata.

Every failure is one :class:`physgen.errors.DataError` (a ``ValueError``) whose
message names the source (a file, when there is one), the problem and the form
that was expected.
"""

from __future__ import annotations

import json
import math

import numpy as np

from physgen.errors import DataError

#: values accepted by ``expect``
DOMAINS = ("spins", "bits", "continuous")

# numpy dtype kinds that hold plain numbers: bool, signed, unsigned, float
_NUMERIC_KINDS = "biuf"
_KIND_NAMES = {
    "O": "Python objects",
    "U": "strings",
    "S": "byte strings",
    "c": "complex numbers",
    "V": "structured records",
    "M": "datetimes",
    "m": "timedeltas",
}


def _prefix(source) -> str:
    return f"{source}: " if source is not None else ""


def check_dtype(dtype, name: str = "x", *, source=None) -> None:
    """Refuse anything but bool, integer and real floating dtypes.

    Parameters
    ----------
    dtype : numpy dtype-like
    name : str
        What the array is called in the message (``"x"``, ``"y"``).
    source : str or path, optional
        Where the array came from (a file name), put first in the message.

    Raises
    ------
    DataError
    """
    dtype = np.dtype(dtype)
    if dtype.kind in _NUMERIC_KINDS:
        return
    what = _KIND_NAMES.get(dtype.kind, f"dtype {dtype}")
    raise DataError(
        f"{_prefix(source)}{name} holds {what} (dtype {dtype}); "
        "expected a numeric array (bool, integer or real float)"
    )


def validate_array(x, name: str = "x", *, expect: str | None = None, min_ndim: int = 2,
                   source=None) -> np.ndarray:
    """Check that ``x`` is a usable data array and return it as an ``np.ndarray``.

    Parameters
    ----------
    x : array-like, shape (n_samples, *event_shape)
        Converted with ``np.asarray`` (no copy when it already is an array).
    name : str
        What the array is called in messages.
    expect : {"spins", "bits", "continuous"} or None
        ``"spins"``: every value is -1 or +1; ``"bits"``: every value is 0 or 1;
        ``"continuous"`` or None: any finite numbers.
    min_ndim : int
        Least number of dimensions: 2 for samples (``(n_samples, *event_shape)``),
        1 for labels.
    source : str or path, optional
        A file name to put first in messages.

    Returns
    -------
    np.ndarray
        ``x`` itself when it was an array.

    Raises
    ------
    DataError
        Non-numeric dtype, too few dimensions, no samples or no features,
        NaN/inf, or values outside the expected domain.
    """
    where = _prefix(source)
    if expect not in (None, *DOMAINS):
        raise ValueError(f"expect must be one of {DOMAINS} or None, got {expect!r}")
    try:
        x = np.asarray(x)
    except ValueError as exc:  # numpy refuses lists of unequal lengths
        raise DataError(f"{where}{name} has ragged rows ({exc}); "
                        "expected rows of equal length") from None
    check_dtype(x.dtype, name, source=source)
    if x.ndim < min_ndim:
        if min_ndim == 2 and x.ndim == 1:
            hint = (f"; use {name}.reshape(-1, 1) for {x.shape[0]} samples of one feature "
                    f"or {name}.reshape(1, -1) for one sample")
        else:
            hint = ""
        form = "(n_samples, *event_shape)" if min_ndim >= 2 else "(n_samples, ...)"
        raise DataError(f"{where}{name} is {x.ndim}-D with shape {x.shape}; expected at least "
                        f"{min_ndim}-D {form}{hint}")
    if x.shape[0] == 0:
        raise DataError(f"{where}{name} has 0 samples (shape {x.shape}); "
                        "expected at least one sample")
    if x.size == 0:
        raise DataError(f"{where}{name} has 0 features (shape {x.shape}); "
                        "expected at least one value per sample")
    if x.dtype.kind == "f":
        finite = np.isfinite(x)
        if not finite.all():
            bad = np.argwhere(~finite)
            first = tuple(int(i) for i in bad[0])
            raise DataError(f"{where}{name} contains {len(bad)} NaN or infinite values "
                            f"(first at index {first}, value {x[first]}); expected finite numbers")
    if expect == "spins":
        _check_domain(x, name, (-1, 1), "spins in {-1, +1}",
                      " (bits 0/1 convert with 2 * x - 1)", where)
    elif expect == "bits":
        if x.dtype.kind != "b":
            _check_domain(x, name, (0, 1), "bits in {0, 1}",
                          " (spins -1/+1 convert with (x + 1) // 2)", where)
    return x


def _check_domain(x, name, allowed, description, hint, where) -> None:
    if x.dtype.kind == "b":
        raise DataError(f"{where}{name} is a boolean array; expected {description}{hint}")
    bad = ~np.isin(x, allowed)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        values = np.unique(x[bad])
        shown = ", ".join(str(v) for v in values[:5]) + (", ..." if len(values) > 5 else "")
        raise DataError(f"{where}{name} has values outside {set(allowed)} ({shown}; first at "
                        f"index {first}); expected {description}{hint}")


def validate_labels(y, n_samples: int, *, source=None) -> np.ndarray:
    """Check labels ``y`` (shape ``(n_samples, ...)``, numeric, finite) against ``x``.

    Returns
    -------
    np.ndarray
    """
    y = validate_array(y, "y", min_ndim=1, source=source)
    if y.shape[0] != n_samples:
        raise DataError(f"{_prefix(source)}y has {y.shape[0]} entries but x has {n_samples} "
                        "samples; expected one label per sample")
    return y


def _json_ready(value, path: str):
    """``value`` as plain JSON types, or a DataError naming where it is not.

    Hand-written because ``json.dumps`` silently turns int keys into strings and
    tuples into lists differently on the way back; numpy scalars and numeric arrays
    (e.g. a temperature stored as ``np.float64``) are accepted as their Python values.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind in _NUMERIC_KINDS:
        value = value.tolist()
    elif isinstance(value, np.generic) and value.dtype.kind in _NUMERIC_KINDS:
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DataError(f"metadata{path} is {value}, which JSON cannot hold; "
                            "expected finite numbers")
        return value
    if isinstance(value, (list, tuple)):
        return [_json_ready(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, v in value.items():
            if not isinstance(key, str):
                raise DataError(f"metadata{path} has key {key!r} of type "
                                f"{type(key).__name__}; expected string keys")
            out[key] = _json_ready(v, f"{path}[{key!r}]")
        return out
    raise DataError(f"metadata{path} is a {type(value).__name__} ({value!r:.60}); expected JSON "
                    "values: dict with str keys, list, str, int, float, bool or None")


def metadata_to_json(metadata) -> str:
    """Serialise a metadata dict to a canonical JSON string (sorted keys, ASCII).

    Raises
    ------
    DataError
        When ``metadata`` is not a dict or holds something JSON cannot represent.
    """
    if not isinstance(metadata, dict):
        raise DataError(f"metadata is a {type(metadata).__name__}; expected a dict "
                        "(JSON object) such as {'temperature': 2.27, 'seed': 0}")
    return json.dumps(_json_ready(metadata, ""), sort_keys=True, allow_nan=False)


def metadata_from_json(text, *, source=None) -> dict:
    """Parse stored metadata; it must be a JSON object.

    Raises
    ------
    DataError
    """
    where = _prefix(source)
    if isinstance(text, (bytes, np.bytes_)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{where}metadata is not UTF-8 text; expected a JSON object") from None
    if not isinstance(text, str):
        raise DataError(f"{where}metadata is a {type(text).__name__}; "
                        "expected a JSON string holding an object")

    def refuse_constant(name):  # json.loads accepts NaN/Infinity, which are not JSON
        raise ValueError(f"{name} is not valid JSON")

    try:
        value = json.loads(text, parse_constant=refuse_constant)
    except ValueError as exc:
        raise DataError(f"{where}metadata is not valid JSON ({exc}); "
                        "expected a JSON object") from None
    if not isinstance(value, dict):
        raise DataError(f"{where}metadata is a JSON {type(value).__name__}, not an object; "
                        "expected a JSON object such as {\"temperature\": 2.27}")
    return value
