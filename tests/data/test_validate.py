"""validate_array: the check models reuse on in-memory arrays."""

import numpy as np
import pytest

from physgen.data import validate_array
from physgen.data.validate import metadata_from_json, metadata_to_json
from physgen.errors import DataError


def test_returns_the_array_itself():
    x = np.ones((3, 2), dtype=np.float32)
    assert validate_array(x) is x
    assert validate_array([[1, -1], [-1, 1]], expect="spins").dtype.kind == "i"


def test_error_type_is_a_value_error():
    assert issubclass(DataError, ValueError)
    with pytest.raises(ValueError):
        validate_array(np.zeros(3))


@pytest.mark.parametrize("x, kwargs, match", [
    (np.zeros(4), {}, r"^x is 1-D with shape \(4,\); expected at least 2-D \(n_samples, "
                      r"\*event_shape\); use x\.reshape\(-1, 1\) for 4 samples of one feature "
                      r"or x\.reshape\(1, -1\) for one sample$"),
    (np.zeros((2, 2)), {"min_ndim": 3, "name": "images"},
     r"^images is 2-D with shape \(2, 2\); expected at least 3-D \(n_samples, \*event_shape\)$"),
    (np.zeros(()), {"min_ndim": 1, "name": "y"}, r"^y is 0-D .*expected at least 1-D"),
    (np.zeros((2, 2)), {"source": "f.npz"}, None),
    (np.zeros((0, 4)), {"source": "f.npz"}, r"^f\.npz: x has 0 samples"),
    (np.ones((2, 2), dtype=bool), {"expect": "spins"},
     r"x is a boolean array; expected spins in \{-1, \+1\}"),
    (np.array([[0.5, 1.0]]), {"expect": "bits"},
     r"x has values outside \{0, 1\} \(0\.5; first at index \(0, 0\)\)"),
    (np.arange(12).reshape(2, 6) - 3, {"expect": "spins"},
     r"outside \{1, -1\} \(-3, -2, 0, 2, 3, \.\.\.; first at index \(0, 0\)\)"),
    (np.array([[np.timedelta64(1, "s")]]), {}, r"x holds timedeltas"),
])
def test_messages(x, kwargs, match):
    if match is None:
        validate_array(x, **kwargs)
        return
    with pytest.raises(DataError, match=match):
        validate_array(x, **kwargs)


def test_domains_accept_their_values():
    validate_array(np.array([[-1.0, 1.0]]), expect="spins")
    validate_array(np.array([[0, 1]], dtype=np.uint8), expect="bits")
    validate_array(np.ones((2, 2), dtype=bool), expect="bits")
    validate_array(np.array([[0.3, -7.0]]), expect="continuous")
    with pytest.raises(ValueError, match=r"expect must be one of \('spins', 'bits', "
                                         r"'continuous'\) or None"):
        validate_array(np.ones((2, 2)), expect="ising")


def test_metadata_helpers():
    assert metadata_from_json(b'{"a": 1}') == {"a": 1}
    assert metadata_from_json(metadata_to_json({"b": 2, "a": 1})) == {"a": 1, "b": 2}
    with pytest.raises(DataError, match=r"metadata is not UTF-8 text"):
        metadata_from_json(b"\xff")
    with pytest.raises(DataError, match=r"metadata is not valid JSON \(Infinity is not valid"):
        metadata_from_json('{"a": Infinity}')
    with pytest.raises(DataError, match=r"metadata is a int; expected a JSON string"):
        metadata_from_json(3)
