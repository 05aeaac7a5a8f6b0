"""One small evaluation shared by the report tests (evaluate is the slow part)."""

import json

import pytest

import physgen as pg


@pytest.fixture(scope="session")
def ising_pair():
    real = pg.ising.sample(L=4, temperature=2.269, n_samples=400, seed=11)
    fake = pg.ising.sample(L=4, temperature=3.0, n_samples=300, seed=12)
    return real, fake


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("runs") / "rbm"
    directory.mkdir()
    history = [{"epoch": e, "loss": 1.0 / e, "kl": 0.5 / e, "note": "text is skipped"}
               for e in range(1, 11)]
    (directory / "history.json").write_text(json.dumps(history))
    (directory / "config.json").write_text(json.dumps({"family": "RBM", "n_hidden": 16}))
    return directory


@pytest.fixture(scope="session")
def evaluation(ising_pair, run_dir):
    real, fake = ising_pair
    return pg.evaluate(real, fake, temperature=2.269, run=run_dir, seed=0, n_permutations=100,
                       n_resamples=20)


@pytest.fixture(scope="session")
def report_dir(evaluation, tmp_path_factory):
    directory = tmp_path_factory.mktemp("report")
    evaluation.to_html(directory)
    evaluation.to_json(directory / "metrics.json")
    return directory
