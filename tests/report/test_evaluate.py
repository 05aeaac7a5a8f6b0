"""pg.evaluate: the tables, the physics, the files it writes and the inputs it refuses."""

import base64
import json
import re

import numpy as np
import pytest

import physgen as pg
from physgen.report import plots


def test_metric_table_covers_every_family_with_errors_and_verdicts(evaluation):
    names = [r.name for r in evaluation.metrics]
    for expected in ("mmd", "sliced_wasserstein", "c2st_auc", "precision", "recall", "frechet",
                     "kernel_distance", "phase_occupancy", "w1[energy per spin]",
                     "kl[energy per spin]", "js[energy per spin]", "tv[energy per spin]",
                     "w1[|m|]"):
        assert expected in names
    for row in evaluation.metrics:
        assert row.verdict in ("consistent", "differs")
        assert 0 < row.p_value <= 1 and np.isfinite(row.value)
        if row.name != "phase_occupancy":
            assert np.isfinite(row.stderr) and row.stderr >= 0
    # real at T = 2.269, generated at T = 3.0: the energy distribution differs plainly
    by_name = {r.name: r for r in evaluation.metrics}
    for name in ("mmd", "w1[energy per spin]", "js[energy per spin]", "c2st_auc"):
        assert by_name[name].verdict == "differs", name


def test_observables_side_by_side_with_exact_values(evaluation):
    rows = {r.name: r for r in evaluation.observables}
    assert set(rows) == {"energy", "abs_magnetization", "magnetization_sq", "specific_heat",
                         "susceptibility", "binder", "correlation_function"}
    ex = pg.ising.exact(4, 2.269).observables
    for name in ("energy", "abs_magnetization", "specific_heat", "susceptibility"):
        assert rows[name].exact == pytest.approx(ex[name])
        assert abs(rows[name].z_real_exact) < 4  # real samples agree with enumeration
    assert rows["energy"].verdict == "differs" and abs(rows["energy"].z_fake_exact) > 5
    assert evaluation.info["exact_reference"].startswith("enumeration")


def test_json_is_strict_and_complete(report_dir, evaluation):
    data = json.loads((report_dir / "metrics.json").read_text())
    assert data["info"]["temperature"] == 2.269 and data["info"]["n_real"] == 400
    assert len(data["metrics"]) == len(evaluation.metrics)
    assert data["n_differs"] == evaluation.n_differs
    assert data["run"]["n_epochs"] == 10 and data["run"]["config"]["n_hidden"] == 16
    assert set(data["analysis"]["hierarchical"]) == {"single", "complete"}
    text = (report_dir / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text


def test_html_is_self_contained_with_tables_and_png_figures(report_dir, evaluation):
    page = (report_dir / "report.html").read_text()
    for table in ("metrics", "observables", "analysis", "info", "config"):
        assert f'<table id="{table}">' in page
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([^"]+)"', page)
    figure_ids = re.findall(r'<figure id="fig-([a-z]+)"', page)
    assert set(figure_ids) == {"samples", "histograms", "observables", "correlation", "pca",
                               "dendrograms", "training"}
    assert len(images) == len(figure_ids)
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing fetched from elsewhere
    for table, rows in (("metrics", evaluation.metrics), ("observables", evaluation.observables)):
        body = re.search(f'<table id="{table}">(.*?)</table>', page, re.S).group(1)
        assert body.count("<tr") == len(rows) + 1


def test_failed_rendering_keeps_the_existing_report(evaluation, report_dir, tmp_path,
                                                    monkeypatch):
    for name in ("report.html", "metrics.json"):
        (tmp_path / name).write_bytes((report_dir / name).read_bytes())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(*args, **kwargs):
        raise RuntimeError("plotting failed")
    monkeypatch.setattr(plots, "sample_grid", broken)
    with pytest.raises(RuntimeError, match="plotting failed"):
        evaluation.to_html(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    with pytest.raises(ValueError, match="not a directory"):
        evaluation.to_html(tmp_path / "metrics.json")


def test_continuous_data_and_same_seed_same_bytes(tmp_path):
    rng = np.random.default_rng(0)
    kwargs = dict(seed=3, n_permutations=20, n_resamples=10, alpha=0.05)
    several = pg.evaluate(rng.normal(size=(120, 3)), rng.normal(size=(100, 3)), **kwargs)
    assert several.observables == [] and several.info["kind"] == "continuous"
    assert "w1[PC1 score]" in [r.name for r in several.metrics]
    page = several.to_html(tmp_path / "report").read_text()
    assert 'id="fig-marginals"' in page and 'id="observables"' not in page
    assert "checks differ" in several.summary()
    # one feature per sample; the same seed gives the same bytes
    real, fake = rng.normal(size=60), rng.exponential(size=50)
    first, second = (pg.evaluate(real, fake, **kwargs) for _ in range(2))
    first.to_json(tmp_path / "a.json")
    second.to_json(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert {r.name: r.verdict for r in first.metrics}["sliced_wasserstein"] == "differs"


def test_bad_inputs_are_refused_before_the_long_work(ising_pair, tmp_path):
    real, fake = ising_pair
    with pytest.raises(ValueError, match="same sample shape"):
        pg.evaluate(real, fake.reshape(len(fake), 16, 1))
    with pytest.raises(ValueError, match="same features"):
        pg.evaluate(real, fake[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        pg.evaluate(real, np.full(fake.shape, np.nan))
    with pytest.raises(ValueError, match="±1"):
        pg.evaluate(real, fake * 0.5)
    with pytest.raises(ValueError, match="temperature"):
        pg.evaluate(real, fake, temperature=-1)
    with pytest.raises(ValueError, match="empty"):
        pg.evaluate(real[:0], fake)
    with pytest.raises(ValueError, match="at least 99"):
        pg.evaluate(real, fake, n_permutations=50, alpha=0.01)
    with pytest.raises(pg.errors.CheckpointError, match="does not exist"):
        pg.evaluate(real, fake, run=tmp_path / "missing")
    (tmp_path / "history.json").write_text('{"loss": "not a list"}')
    with pytest.raises(pg.errors.CheckpointError, match="list of per-epoch"):
        pg.evaluate(real, fake, run=tmp_path)
    (tmp_path / "history.json").write_text("[{")
    with pytest.raises(pg.errors.CheckpointError, match="cannot read"):
        pg.evaluate(real, fake, run=tmp_path)
