"""An HDF5 data file never makes physgen read another file."""

import h5py
import numpy as np
import pytest

from physgen.data import load
from physgen.errors import DataError


@pytest.fixture
def other_file(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("secret", data=np.ones((3, 2)))
        f.create_group("g").create_dataset("x", data=np.ones((3, 2)))
    return path


def test_external_link_is_refused(tmp_path, other_file):
    path = tmp_path / "link.h5"
    with h5py.File(path, "w") as f:
        f["x"] = h5py.ExternalLink(str(other_file), "/secret")
    with pytest.raises(DataError, match=r"link\.h5: /x is an external link to .*other\.h5:"
                                        r"/secret, which physgen refuses to follow"):
        load(path)


def test_external_link_for_labels_is_refused(tmp_path, other_file):
    path = tmp_path / "link.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros((3, 2)))
        f["y"] = h5py.ExternalLink(str(other_file), "/secret")
    with pytest.raises(DataError, match=r"/y is an external link"):
        load(path)


def test_soft_link_through_an_external_link_is_refused(tmp_path, other_file):
    path = tmp_path / "soft.h5"
    with h5py.File(path, "w") as f:
        f["outside"] = h5py.ExternalLink(str(other_file), "/g")
        f["x"] = h5py.SoftLink("/outside/x")
    with pytest.raises(DataError, match=r"soft\.h5: /outside is an external link"):
        load(path)


def test_soft_link_inside_the_file_is_followed(tmp_path):
    path = tmp_path / "soft.h5"
    with h5py.File(path, "w") as f:
        f.create_group("data").create_dataset("samples", data=np.arange(6.0).reshape(3, 2))
        f["hop"] = h5py.SoftLink("/data")
        f["x"] = h5py.SoftLink("/hop/samples")
    np.testing.assert_array_equal(load(path).x, np.arange(6.0).reshape(3, 2))


def test_dangling_and_cyclic_soft_links(tmp_path):
    path = tmp_path / "soft.h5"
    with h5py.File(path, "w") as f:
        f["x"] = h5py.SoftLink("/nowhere")
    with pytest.raises(DataError, match=r"/x is a soft link to /nowhere, which does not exist"):
        load(path)
    with h5py.File(path, "w") as f:
        f["x"] = h5py.SoftLink("/a")
        f["a"] = h5py.SoftLink("/x")
    with pytest.raises(DataError, match=r"soft links nested more than 16 deep"):
        load(path)


def test_external_raw_storage_is_refused(tmp_path):
    raw = tmp_path / "raw.bin"
    np.arange(6.0).tofile(raw)
    path = tmp_path / "ext.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", shape=(3, 2), dtype="<f8", external=[(str(raw), 0, 48)])
    with pytest.raises(DataError, match=r"ext\.h5: x keeps its data in external files "
                                        r"\(.*raw\.bin\), which physgen refuses"):
        load(path)


def test_virtual_dataset_is_refused(tmp_path, other_file):
    layout = h5py.VirtualLayout(shape=(3, 2), dtype="f8")
    layout[:] = h5py.VirtualSource(str(other_file), "secret", shape=(3, 2))
    path = tmp_path / "vds.h5"
    with h5py.File(path, "w") as f:
        f.create_virtual_dataset("x", layout)
    with pytest.raises(DataError, match=r"vds\.h5: x is a virtual dataset \(mapped from other "
                                        r"files\), which physgen refuses"):
        load(path)


def test_null_dataset_is_refused(tmp_path):
    path = tmp_path / "null.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=h5py.Empty("f8"))
    with pytest.raises(DataError, match=r"x is an empty \(null\) dataset"):
        load(path)
