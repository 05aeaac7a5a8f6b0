"""`physgen ising` and `physgen demo` end to end, through main()."""

import numpy as np
import pytest

import physgen as pg
from physgen.cli.main import main


def test_ising_writes_samples_with_metadata(tmp_path):
    out = tmp_path / "ising.npz"
    assert main(["ising", "--L", "6", "--temperature", "2.27", "--n-samples", "50",
                 "--out", str(out), "--seed", "3"]) == 0
    ds = pg.data.load(out, expect="spins")
    assert ds.x.shape == (50, 6, 6) and ds.y is None
    assert ds.metadata["temperature"] == 2.27 and ds.metadata["seed"] == 3
    run = ds.metadata["runs"][0]
    assert run["burn_in"] >= 20 * max(run["tau_int"].values())


def test_temperature_lists_and_ranges_give_labels(tmp_path):
    out = tmp_path / "grid.h5"
    assert main(["ising", "--L", "4", "-T", "1.5,3.5", "-T", "2:3:3", "--n-samples", "10",
                 "--out", str(out)]) == 0
    ds = pg.data.load(out)
    assert ds.x.shape == (50, 4, 4)
    assert np.allclose(np.unique(ds.y), [1.5, 2.0, 2.5, 3.0, 3.5])


def test_existing_output_is_kept_and_bad_input_exits_2(tmp_path, capsys):
    out = tmp_path / "keep.npz"
    pg.data.save(out, np.ones((3, 2), np.int8))
    before = out.read_bytes()
    for argv in (["ising", "--L", "4", "--out", str(out)],
                 ["ising", "--L", "4", "-T", "hot", "--out", str(tmp_path / "a.npz")],
                 ["ising", "--L", "4", "-T", "-1", "--out", str(tmp_path / "a.npz")],
                 ["ising", "--L", "1", "--out", str(tmp_path / "a.npz")],
                 ["ising", "--L", "4", "--out", str(tmp_path / "a.txt")],
                 ["ising", "--L", "4", "-T", "2,3", "--out", str(tmp_path / "a.npy")]):
        assert main(argv) == 2, argv
    assert out.read_bytes() == before
    assert "already exists" in capsys.readouterr().err
    assert main(["ising", "--L", "4", "--n-samples", "5", "--out", str(out), "--force"]) == 0
    assert pg.data.load(out).x.shape == (5, 4, 4)


def test_csv_output_is_one_row_per_sample(tmp_path):
    out = tmp_path / "s.csv"
    assert main(["ising", "--L", "4", "--n-samples", "7", "--out", str(out)]) == 0
    assert pg.data.load(out).x.shape == (7, 16)


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--L", "8", "--n-samples", "200"]) == 0
    for name in ("observables.png", "run/model.safetensors", "report/report.html",
                 "report/metrics.json", "generated.npz"):
        assert (out / name).exists(), name
