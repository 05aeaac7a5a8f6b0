"""Run directories and checkpoints: safetensors + JSON, written atomically, never pickled.

A run directory holds

- ``config.json``                 class, resolved settings, fitted domain/shape, physgen version
- ``model.safetensors``           the model's ``state_dict`` (parameters and buffers)
- ``training_state.safetensors``  optimizer state, RNG states, counters, family buffers
                                  (persistent chains, replay buffers); non-tensor parts as
                                  JSON in the safetensors metadata (only when resumable)
- ``history.json``                the per-epoch history
- ``manifest.json``               written LAST: file names and sizes. A directory without it,
                                  or whose files do not match it, is incomplete (a killed write).

Every file is written to a temporary name and moved into place with ``os.replace``;
checkpoints are assembled in a temporary directory which is renamed as a whole.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from physgen.errors import CheckpointError, NonFiniteError

CONFIG, MODEL, TRAINING_STATE, HISTORY, MANIFEST = (
    "config.json", "model.safetensors", "training_state.safetensors", "history.json",
    "manifest.json")
CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d{6,})$")


@dataclass
class RunFiles:
    """The contents of a run directory (tensors on the CPU)."""

    config: dict
    model: dict
    history: list
    training: dict | None = None          # name -> tensor, or None when not resumable
    training_meta: dict = field(default_factory=dict)
    path: Path | None = None


# --- writing -----------------------------------------------------------------------------

def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _cpu_tensors(tensors: dict, what: str) -> dict:
    """Contiguous CPU copies (safetensors refuses shared storage); refuse non-finite values."""
    import torch

    out = {}
    for name, tensor in tensors.items():
        tensor = tensor.detach()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise NonFiniteError(f"refusing to write {what}: tensor {name!r} holds NaN or inf")
        out[name] = tensor.to("cpu", copy=True).contiguous()
    return out


def _tensor_bytes(tensors: dict, metadata: dict | None = None) -> bytes:
    from safetensors.torch import save

    return save(tensors, metadata=metadata)


def write_run(directory, files: RunFiles) -> Path:
    """Write ``files`` as a complete run directory at ``directory`` (created if needed).

    The old manifest (if any) is removed first and the new one written last, so a write
    killed halfway leaves a directory that :func:`read_run` rejects as incomplete.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    payload = {
        CONFIG: json.dumps(files.config, indent=2, sort_keys=True).encode(),
        MODEL: _tensor_bytes(_cpu_tensors(files.model, "model weights")),
        HISTORY: json.dumps(files.history, indent=1).encode(),
    }
    if files.training is not None:
        payload[TRAINING_STATE] = _tensor_bytes(
            _cpu_tensors(files.training, "training state"),
            metadata={"json": json.dumps(files.training_meta)})
    (directory / MANIFEST).unlink(missing_ok=True)
    if files.training is None:
        (directory / TRAINING_STATE).unlink(missing_ok=True)
    for name, data in payload.items():
        _atomic_write_bytes(directory / name, data)
    manifest = {"complete": True, "files": {name: len(data) for name, data in payload.items()},
                "epoch": files.training_meta.get("epoch"),
                "step": files.training_meta.get("step")}
    _atomic_write_bytes(directory / MANIFEST, json.dumps(manifest, indent=1).encode())
    return directory


def write_checkpoint(checkpoint_dir, files: RunFiles, epoch: int, keep_last: int | None = None
                     ) -> Path:
    """Write ``checkpoint_dir/checkpoint-{epoch:06d}`` via a temporary directory and a rename.

    ``keep_last``: delete all but the newest ``keep_last`` complete checkpoints afterwards.
    """
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    final = checkpoint_dir / f"checkpoint-{epoch:06d}"
    tmp = Path(tempfile.mkdtemp(dir=checkpoint_dir, prefix=f".{final.name}.", suffix=".tmp"))
    try:
        write_run(tmp, files)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if keep_last is not None:
        for old in _checkpoint_dirs(checkpoint_dir)[:-keep_last]:
            shutil.rmtree(old, ignore_errors=True)
    return final


# --- reading -----------------------------------------------------------------------------

def is_complete(directory) -> bool:
    """True when ``directory`` has a manifest and every file it lists with the listed size."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
        return bool(manifest.get("complete")) and all(
            (directory / name).stat().st_size == size for name, size in manifest["files"].items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def read_run(directory, *, training: bool = False) -> RunFiles:
    """Read a complete run directory; ``training=True`` also reads the training state."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: not a run directory (no such directory)")
    if not is_complete(directory):
        raise CheckpointError(f"{directory}: incomplete run directory (missing or mismatched "
                              f"{MANIFEST}; was a write interrupted?)")
    try:
        config = json.loads((directory / CONFIG).read_text())
        model = load_file(directory / MODEL)
        history = json.loads((directory / HISTORY).read_text())
        state, meta = None, {}
        if training:
            if not (directory / TRAINING_STATE).exists():
                raise CheckpointError(f"{directory}: holds no {TRAINING_STATE}; cannot resume")
            state = load_file(directory / TRAINING_STATE)
            with safe_open(directory / TRAINING_STATE, framework="pt") as handle:
                meta = json.loads(handle.metadata()["json"])
    except CheckpointError:
        raise
    except Exception as exc:  # corrupt JSON or safetensors: name the file
        raise CheckpointError(f"{directory}: cannot read run directory: {exc}") from exc
    return RunFiles(config, model, history, state, meta, directory)


def _checkpoint_dirs(checkpoint_dir: Path) -> list[Path]:
    """Complete ``checkpoint-NNNNNN`` directories, oldest first."""
    found = []
    for path in checkpoint_dir.iterdir() if checkpoint_dir.is_dir() else ():
        match = CHECKPOINT_PATTERN.match(path.name)
        if match and path.is_dir() and is_complete(path):
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


def latest_checkpoint(checkpoint_dir) -> Path | None:
    """The newest complete resumable checkpoint under ``checkpoint_dir`` (or the directory
    itself, when it is a saved run with a training state), or None.

    Temporary directories and files left by killed writes never match.
    """
    checkpoint_dir = Path(checkpoint_dir)
    candidates = list(_checkpoint_dirs(checkpoint_dir))
    if is_complete(checkpoint_dir):
        candidates.append(checkpoint_dir)
    best, best_key = None, None
    for path in candidates:
        if not (path / TRAINING_STATE).exists():
            continue
        manifest = json.loads((path / MANIFEST).read_text())
        key = (manifest.get("step") or 0, manifest.get("epoch") or 0)
        if best_key is None or key > best_key:
            best, best_key = path, key
    return best


# --- optimizer and RNG state as tensors + JSON ------------------------------------------

def optimizer_to_tensors(name: str, optimizer) -> tuple[dict, dict]:
    """Flatten ``optimizer.state_dict()`` into ``{key: tensor}`` plus a JSON-able dict."""
    import torch

    state_dict = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in state_dict["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer/{name}/{index}/{key}"] = value
            else:
                scalars[f"{index}/{key}"] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def optimizer_from_tensors(name: str, optimizer, tensors: dict, meta: dict) -> None:
    """Inverse of :func:`optimizer_to_tensors`: load the state into ``optimizer``."""
    state: dict = {}
    prefix = f"optimizer/{name}/"
    for key, value in tensors.items():
        if key.startswith(prefix):
            index, entry = key[len(prefix):].split("/", 1)
            state.setdefault(int(index), {})[entry] = value
    for key, value in meta["scalars"].items():
        index, entry = key.split("/", 1)
        state.setdefault(int(index), {})[entry] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def numpy_rng_to_tensor(generator: np.random.Generator):
    """A NumPy generator's state as a uint8 tensor (its JSON, encoded)."""
    import torch

    data = json.dumps(generator.bit_generator.state).encode()
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).clone()


def numpy_rng_from_tensor(generator: np.random.Generator, tensor) -> None:
    generator.bit_generator.state = json.loads(bytes(tensor.numpy().tobytes()).decode())
