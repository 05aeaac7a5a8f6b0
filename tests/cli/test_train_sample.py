"""``physgen train`` and ``physgen sample``: round trip, refusals and exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import physgen as pg
from physgen.cli.main import main


@pytest.fixture()
def data_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "spins.npz"
    pg.data.save(path, rng.choice(np.array([-1, 1], np.int8), size=(64, 4, 4)),
                 metadata={"seed": 0})
    return path


def train(data_file, out, *extra):
    return main(["train", "rbm", "--data", str(data_file), "--out", str(out),
                 "--set", "n_hidden=5", "--set", "epochs=2", "--set", "batch_size=16",
                 "--set", "seed=3", *extra])


def test_train_then_sample_round_trip(data_file, tmp_path, capsys):
    run = tmp_path / "runs" / "rbm"
    assert train(data_file, run, "--set", "learning_rate=0.05", "--set", "training=cd") == 0
    config = json.loads((run / "config.json").read_text())
    assert config["settings"]["n_hidden"] == 5 and config["settings"]["seed"] == 3
    assert config["settings"]["learning_rate"] == 0.05 and config["settings"]["training"] == "cd"
    out = tmp_path / "generated.npz"
    assert main(["sample", str(run), "--n-samples", "7", "--out", str(out), "--seed", "2",
                 "--steps", "4"]) == 0
    generated = pg.data.load(out)
    assert generated.x.shape == (7, 4, 4) and generated.x.dtype == np.int8
    assert generated.metadata["steps"] == 4
    expected = pg.load(run).sample(7, seed=2, burn_in=4)
    np.testing.assert_array_equal(generated.x, expected)
    assert "run saved to" in capsys.readouterr().out
    # the output file is never replaced silently
    assert main(["sample", str(run), "--n-samples", "7", "--out", str(out)]) == 2


def test_config_file_and_resume(data_file, tmp_path):
    config = tmp_path / "run.toml"
    # a constant rate: a schedule over `epochs` changes when a resume extends the epochs
    config.write_text('n_hidden = 4\noptimizer = "adam"\nlearning_rate = 0.01\n'
                      'lr_schedule = "constant"\n')
    run = tmp_path / "run"
    args = ["train", "rbm", "--data", str(data_file), "--out", str(run), "--config", str(config),
            "--set", "epochs=2", "--set", "seed=1"]
    assert main(args) == 0
    assert json.loads((run / "config.json").read_text())["settings"]["optimizer"] == "adam"
    assert main(args) == 2                                 # never overwrite a run silently
    assert main([*args[:-4], "--set", "epochs=3", "--resume"]) == 0
    history = json.loads((run / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2, 3]
    straight = pg.models.RBM(**{**pg.load(run).get_params()}).fit(pg.data.load(data_file).x)
    np.testing.assert_array_equal(pg.load(run).module_.W.detach().numpy(),
                                  straight.module_.W.detach().numpy())


@pytest.mark.parametrize("argv, message", [
    (["train", "nope", "--data", "{data}", "--out", "{out}"], "unknown model family"),
    (["train", "rbm", "--data", "{data}", "--out", "{out}", "--set", "colour=red"],
     "valid settings: n_hidden"),
    (["train", "rbm", "--data", "{data}", "--out", "{out}", "--set", "epochs=many"],
     "cannot parse"),
    (["train", "rbm", "--data", "{data}", "--out", "{out}", "--set", "epochs"], "key=value"),
    (["train", "rbm", "--data", "{data}", "--out", "{out}", "--set", "epochs=0"], "epochs"),
    (["train", "rbm", "--data", "{tmp}/missing.npz", "--out", "{out}"], "no such file"),
    (["train", "rbm", "--data", "{data}", "--out", "{out}", "--config", "{tmp}/no.toml"],
     "no such config"),
    (["sample", "{tmp}/norun", "--n-samples", "3", "--out", "{tmp}/s.npz"],
     "not a run directory"),
])
def test_bad_input_exits_2_with_one_line(data_file, tmp_path, capsys, argv, message):
    argv = [a.format(data=data_file, out=tmp_path / "out", tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_resume_of_nothing_starts_fresh(data_file, tmp_path):
    assert train(data_file, tmp_path / "fresh", "--resume") == 0
    assert len(pg.load(tmp_path / "fresh").history_) == 2


def test_steps_refused_for_a_sampler_without_them(tmp_path, capsys, monkeypatch):
    import physgen.models.base

    class NoSteps:
        domain_ = "spins"

        def sample(self, n_samples, y=None, seed=None):
            return np.ones((n_samples, 2), np.int8)

    monkeypatch.setattr(physgen.models.base, "load", lambda path: NoSteps())
    out = tmp_path / "s.npz"
    assert main(["sample", "run", "--n-samples", "3", "--out", str(out), "--steps", "5"]) == 2
    assert "takes no steps" in capsys.readouterr().err
    assert main(["sample", "run", "--n-samples", "3", "--out", str(out)]) == 0
