"""The training loop: resume bit for bit, non-finite guard, callbacks, atomic checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import physgen as pg
from physgen.errors import CheckpointError, NonFiniteError
from physgen.models.rbm import RBM
from physgen.training import (Callback, Checkpoint, EarlyStopping, SampleSnapshot,
                              latest_checkpoint, lr_factor, read_run)
from physgen.training import checkpoint as ckpt


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.choice(np.array([-1, 1], np.int8), size=(96, 3, 3))


def small(**settings):
    base = dict(n_hidden=5, epochs=4, batch_size=16, burn_in=3, seed=11, optimizer="adam",
                learning_rate=0.05, lr_schedule="cosine", training="pcd")
    base.update(settings)
    return RBM(**base)


def weights(model):
    return {k: v.clone() for k, v in model.module_.state_dict().items()}


class Kill(Callback):
    """Simulates a process killed at the end of epoch ``at`` (before its checkpoint)."""

    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, trainer):
        if trainer.epoch == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("settings", [dict(), dict(training="cd", k=2, optimizer="sgd",
                                                   momentum=0.9, lr_schedule="step")])
def test_resume_is_bit_identical(data, tmp_path, settings):
    full = small(**settings).fit(data)
    with pytest.raises(KeyboardInterrupt):
        small(**settings).fit(data, checkpoint_dir=tmp_path, callbacks=[Kill(3)])
    assert latest_checkpoint(tmp_path).name == "checkpoint-000002"
    resumed = small(**settings).fit(data, checkpoint_dir=tmp_path, resume=True)
    for name, tensor in weights(full).items():
        assert torch.equal(tensor, weights(resumed)[name]), name
    if full.chains_ is not None:
        assert torch.equal(full.chains_, resumed.chains_)
    assert [r["loss"] for r in resumed.history_] == [r["loss"] for r in full.history_]
    np.testing.assert_array_equal(full.sample(5, seed=1), resumed.sample(5, seed=1))


def test_resume_from_saved_run_and_without_checkpoint(data, tmp_path):
    full = small(epochs=4).fit(data)
    small(epochs=2).set_params(epochs=2).fit(data)  # a different fit must not interfere
    # resume=True on an empty directory starts from scratch
    fresh = small(epochs=4).fit(data, checkpoint_dir=tmp_path / "empty", resume=True)
    assert torch.equal(weights(fresh)["W"], weights(full)["W"])
    with pytest.raises(ValueError, match="checkpoint_dir"):
        small().fit(data, resume=True)


def test_resume_refuses_other_data(data, tmp_path):
    small(epochs=1).fit(data, checkpoint_dir=tmp_path)
    with pytest.raises(CheckpointError, match="does not match"):
        small(epochs=2).fit(data.reshape(len(data), -1), checkpoint_dir=tmp_path, resume=True)


class Poison(RBM):
    """An RBM whose step ``bad_step`` produces a NaN loss or parameter."""

    def __init__(self, what="loss", bad_step=3, **settings):
        super().__init__(**settings)
        self.what, self.bad_step = what, bad_step

    def _train_step(self, x, y, step):
        logs = super()._train_step(x, y, step)
        if step == self.bad_step:
            if self.what == "loss":
                logs["loss"] = torch.tensor(float("nan"))
            else:
                with torch.no_grad():
                    self.module_.hidden_bias[1] = float("inf")
        return logs


@pytest.mark.parametrize("what, quantity", [("loss", "logged value 'loss'"),
                                            ("parameter", "parameter 'hidden_bias'")])
def test_nonfinite_raises_naming_epoch_step_quantity(data, what, quantity):
    model = Poison(what, bad_step=8, n_hidden=4, epochs=3, batch_size=16, seed=0)
    with pytest.raises(NonFiniteError, match=f"{quantity} became NaN or infinite at epoch 2, "
                                             "step 8"):
        model.fit(data)


def test_nonfinite_skip_undoes_the_step(data, tmp_path):
    model = Poison("parameter", bad_step=2, n_hidden=4, epochs=2, batch_size=16, seed=0,
                   on_nonfinite="skip")
    model.fit(data, checkpoint_dir=tmp_path)
    assert [r["skipped_steps"] for r in model.history_] == [1, 0]
    assert all(torch.isfinite(p).all() for p in model.module_.parameters())
    for path in [tmp_path / "checkpoint-000002"]:
        files = read_run(path, training=True)
        for tensor in [*files.model.values(), *files.training.values()]:
            assert not tensor.is_floating_point() or torch.isfinite(tensor).all()


def test_checkpoint_never_holds_nonfinite(tmp_path):
    files = ckpt.RunFiles(config={}, model={"w": torch.tensor([1.0, float("nan")])}, history=[])
    with pytest.raises(NonFiniteError, match="'w'"):
        ckpt.write_run(tmp_path / "run", files)
    assert not ckpt.is_complete(tmp_path / "run")


def test_early_stopping(data):
    stopper = EarlyStopping(monitor="lr", patience=2, mode="min")   # constant lr: no progress
    model = small(epochs=10, lr_schedule="constant").fit(data, callbacks=[stopper])
    assert len(model.history_) == 3 and stopper.stopped_epoch == 3
    with pytest.raises(ValueError, match="not logged"):
        small(epochs=2).fit(data, callbacks=[EarlyStopping(monitor="nope")])
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")


def test_sample_snapshot_and_checkpoint_callback(data, tmp_path):
    snapshot = SampleSnapshot(every_n_epochs=2, n_samples=3, seed=0)
    model = small(epochs=4).fit(data, checkpoint_dir=tmp_path,
                                callbacks=[snapshot, Checkpoint(every_n_epochs=2, keep_last=1)])
    assert [epoch for epoch, _ in snapshot.samples] == [2, 4]
    assert snapshot.samples[0][1].shape == (3, 3, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-000004"]
    reloaded = pg.load(tmp_path / "checkpoint-000004")
    np.testing.assert_array_equal(reloaded.sample(4, seed=2), model.sample(4, seed=2))
    with pytest.raises(ValueError, match="checkpoint_dir"):
        small().fit(data, callbacks=[Checkpoint()])


def test_interrupted_writes_are_ignored(data, tmp_path):
    small(epochs=2).fit(data, checkpoint_dir=tmp_path)
    # a killed checkpoint write: a temporary directory and a directory without its manifest
    partial = tmp_path / ".checkpoint-000007.abc.tmp"
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(b"garbage")
    broken = tmp_path / "checkpoint-000009"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    (tmp_path / "checkpoint-000002" / ".model.safetensors.x.tmp").write_bytes(b"half")
    assert latest_checkpoint(tmp_path).name == "checkpoint-000002"
    with pytest.raises(CheckpointError, match="incomplete"):
        pg.load(broken)
    # a file truncated after the manifest was written no longer matches it
    target = tmp_path / "checkpoint-000001" / "model.safetensors"
    target.write_bytes(target.read_bytes()[:-3])
    assert not ckpt.is_complete(target.parent)
    with pytest.raises(CheckpointError, match="incomplete"):
        pg.load(target.parent)


def test_run_directory_layout(data, tmp_path):
    model = small(epochs=1).fit(data)
    model.save(tmp_path / "run")
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert names == {"config.json", "model.safetensors", "training_state.safetensors",
                     "history.json", "manifest.json"}
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["class"] == "RBM" and config["fitted"]["domain_"] == "spins"
    assert config["fitted"]["event_shape_"] == [3, 3]
    assert config["physgen_version"] == pg.__version__
    assert config["settings"] == model.get_params()
    loaded = pg.load(tmp_path / "run")
    with pytest.raises(ValueError, match="already holds"):
        loaded.save(tmp_path / "run")
    loaded.save(tmp_path / "again")   # a loaded model saves without a training state
    assert not (tmp_path / "again" / "training_state.safetensors").exists()


def test_optimizer_state_round_trips(data):
    model = small(epochs=1).fit(data)
    optimizer = model.optimizers_["model"]
    tensors, meta = ckpt.optimizer_to_tensors("model", optimizer)
    meta = json.loads(json.dumps(meta))
    fresh = torch.optim.Adam(model.module_.parameters(), lr=1.0)
    ckpt.optimizer_from_tensors("model", fresh, tensors, meta)
    a, b = optimizer.state_dict(), fresh.state_dict()
    assert a["param_groups"][0]["lr"] == b["param_groups"][0]["lr"]
    for index, state in a["state"].items():
        for key, value in state.items():
            assert torch.equal(value, b["state"][index][key])


def test_lr_schedules():
    assert lr_factor("constant", 50, 100) == 1.0
    assert lr_factor("cosine", 0, 100) == 1.0 and lr_factor("cosine", 50, 100) == pytest.approx(0.5)
    assert lr_factor("linear", 25, 100) == pytest.approx(0.75)
    assert [lr_factor("step", s, 100) for s in (0, 50, 75)] == pytest.approx([1, 0.1, 0.01])
    with pytest.raises(ValueError, match="lr_schedule"):
        lr_factor("warm", 0, 1)


def test_bad_shared_settings(data):
    for settings, message in [(dict(epochs=0), "epochs"), (dict(batch_size=1.5), "batch_size"),
                              (dict(learning_rate=-1.0), "learning_rate"),
                              (dict(optimizer="lbfgs"), "optimizer"),
                              (dict(lr_schedule="warm"), "lr_schedule"),
                              (dict(on_nonfinite="ignore"), "on_nonfinite"),
                              (dict(optimizer="adam", momentum=0.9), "momentum")]:
        with pytest.raises(ValueError, match=message):
            small(**settings).fit(data)
