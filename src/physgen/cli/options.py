"""Parsing helpers shared by the sub-commands."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np


def parse_temperatures(values) -> np.ndarray:
    """Temperatures from ``2.27``, ``1.5,2.27,3.5`` or ``1.5:3.5:9`` (start:stop:count).

    Repeated options are concatenated.
    """
    temperatures = []
    for text in values:
        for part in str(text).split(","):
            part = part.strip()
            try:
                if ":" in part:
                    start, stop, count = part.split(":")
                    if int(count) < 1:
                        raise ValueError
                    temperatures.extend(np.linspace(float(start), float(stop), int(count)))
                else:
                    temperatures.append(float(part))
            except ValueError:
                raise click.BadParameter(
                    f"{part!r} is not a temperature: expected a number, a comma list "
                    "(1.5,2.27) or a range start:stop:count (1.5:3.5:9)",
                    param_hint="--temperature") from None
    temperatures = np.array(temperatures, dtype=np.float64)
    if temperatures.size == 0 or not np.all(np.isfinite(temperatures)) or np.any(temperatures <= 0):
        raise click.BadParameter("temperatures must be finite and positive",
                                 param_hint="--temperature")
    return temperatures


def check_output_file(path: str | Path, force: bool) -> Path:
    """Refuse to replace an existing file unless ``--force``: saved work is never lost."""
    path = Path(path)
    if path.is_dir():
        raise click.BadParameter(f"{path} is a directory; expected a file name",
                                 param_hint="--out")
    from physgen.data import FORMATS

    if path.suffix.lower() not in FORMATS:
        raise click.BadParameter(f"{path} has an unknown extension; expected one of "
                                 f"{', '.join(FORMATS)}", param_hint="--out")
    if path.exists() and not force:
        raise click.BadParameter(f"{path} already exists; pass --force to replace it",
                                 param_hint="--out")
    return path
