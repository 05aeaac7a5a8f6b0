"""`physgen evaluate` end to end through main()."""

import json

import physgen as pg
from physgen.cli.main import main


def _files(tmp_path):
    real = tmp_path / "real.npz"
    fake = tmp_path / "fake.csv"
    pg.data.save(real, pg.ising.sample(L=4, temperature=2.269, n_samples=150, seed=1),
                 metadata={"temperature": 2.269, "L": 4, "dim": 2})
    # csv keeps no shape: the flattened lattices are compared as 16 features
    spins = pg.ising.sample(L=4, temperature=2.269, n_samples=120, seed=2)
    pg.data.save(fake, spins.reshape(120, 16))
    return real, fake


def test_evaluate_writes_report_and_metrics(tmp_path, capsys, run_dir):
    real, fake = _files(tmp_path)
    (tmp_path / "r.npz").write_bytes(real.read_bytes())
    out = tmp_path / "report"
    code = main(["evaluate", "--real", str(real), "--fake", str(tmp_path / "fake.csv"),
                 "--out", str(out), "--n-permutations", "20", "--alpha", "0.05",
                 "--run", str(run_dir)])
    assert code == 2  # csv flattened vs (4, 4) lattices: shapes differ, said in one line
    assert "same sample shape" in capsys.readouterr().err and not out.exists()
    fake_npz = tmp_path / "fake.npz"
    pg.data.save(fake_npz, pg.data.load(fake).x, metadata={"L": 4, "dim": 2})
    assert main(["evaluate", "--real", str(real), "--fake", str(fake_npz), "--out", str(out),
                 "--n-permutations", "20", "--alpha", "0.05",
                 "--run", str(run_dir)]) == 0
    printed = capsys.readouterr().out
    assert "checks differ" in printed and "report.html" in printed
    data = json.loads((out / "metrics.json").read_text())
    assert data["info"]["temperature"] == 2.269 and data["info"]["sample_shape"] == [4, 4]
    assert data["n_differs"] <= 2  # same distribution: at most a chance rejection or two
    assert (out / "report.html").stat().st_size > 10_000


def test_bad_invocations_exit_2_and_keep_old_reports(tmp_path, capsys):
    real, _ = _files(tmp_path)
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.html").write_text("old")
    assert main(["evaluate", "--real", str(real), "--fake", str(tmp_path / "none.npz"),
                 "--out", str(out)]) == 2
    assert main(["evaluate", "--real", str(real), "--fake", str(real), "--out", str(out),
                 "--run", str(tmp_path / "no-run")]) == 2
    assert (out / "report.html").read_text() == "old"
    assert main(["evaluate", "--real", str(real), "--fake", str(real), "--out", str(real)]) == 2
    assert main(["evaluate", "--real", str(real), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "none.npz" in err and "no-run" in err
