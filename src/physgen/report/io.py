"""Safe writing of report files, and reading a run directory's records."""

from __future__ import annotations

import json
import math
from pathlib import Path

# physgen.data's temp-file-and-rename writer (fsync, umask permissions, cleanup)
from physgen.data.io import _atomic_write
from physgen.errors import CheckpointError, PhysgenError


def write_atomic(path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory.

    The rename is atomic, so ``path`` holds either its old content or the complete new
    one, never a half-written file; the temporary file is removed on failure.
    """
    path = Path(path)
    if path.is_dir():
        raise PhysgenError(f"{path} is a directory; expected a file path to write")
    if not path.parent.is_dir():
        raise PhysgenError(f"cannot write {path}: directory {path.parent} does not exist")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    _atomic_write(path, lambda temporary: temporary.write_bytes(payload))
    return path


def json_ready(value):
    """Nested data with NaN and infinities as None (strict JSON) and numpy values as Python."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(data) -> str:
    """Deterministic, strict JSON text (sorted keys, two-space indent, final newline)."""
    return json.dumps(json_ready(data), indent=2, sort_keys=True, allow_nan=False) + "\n"


def read_run(run) -> dict:
    """Training records of a run directory.

    Parameters
    ----------
    run : str or Path
        A run directory holding ``history.json`` (a list of per-epoch dicts) and,
        optionally, ``config.json``.

    Returns
    -------
    dict
        ``path`` (str), ``history`` (list of dict) and ``config`` (dict, empty if absent).
    """
    directory = Path(run)
    if not directory.is_dir():
        raise CheckpointError(f"run directory {directory} does not exist or is not a directory")
    history_path = directory / "history.json"
    if not history_path.is_file():
        raise CheckpointError(f"{history_path} is missing; a run directory needs history.json "
                              f"for the training curves")
    history = _read_json(history_path)
    if isinstance(history, dict) and all(isinstance(v, list) for v in history.values()):
        # a dict of per-epoch lists: the same records, column-wise
        n = max((len(v) for v in history.values()), default=0)
        history = [{k: v[i] for k, v in history.items() if i < len(v)} for i in range(n)]
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise CheckpointError(f"{history_path} must hold a JSON list of per-epoch objects, "
                              f"e.g. [{{\"epoch\": 1, \"loss\": 0.7}}, ...]")
    config_path = directory / "config.json"
    config = _read_json(config_path) if config_path.is_file() else {}
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_path} must hold a JSON object of settings")
    return {"path": str(directory), "history": history, "config": config}


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from None
