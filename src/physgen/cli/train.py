"""``physgen train FAMILY``: fit any model family to a data file and save the run directory.

Settings come from the family's constructor defaults, then ``--config run.toml`` (flat
``key = value`` pairs), then ``--set key=value`` (parsed by the type of the default).
"""

from __future__ import annotations

import json
from pathlib import Path

import click


def _parse_value(text: str, default):
    """A ``--set`` value, parsed by the type of the constructor default."""
    lowered = text.strip().lower()
    if lowered in ("none", "null"):
        return None
    if isinstance(default, bool):
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    if isinstance(default, tuple):
        return tuple(_parse_value(part, 0) if part.strip().lstrip("-").isdigit()
                     else _parse_value(part, 0.0) for part in text.split(",") if part.strip())
    if isinstance(default, str):
        return text
    try:  # default None (e.g. seed, n_chains): a JSON number, or else the text
        return json.loads(text)
    except ValueError:
        return text


def resolve_settings(cls, config: dict, overrides) -> dict:
    """Settings for ``cls`` from a config mapping and ``key=value`` strings.

    Raises ValueError naming an unknown key (with the list of valid settings) or a value
    that does not parse.
    """
    defaults = cls.setting_defaults()
    valid = list(defaults)
    settings = {}

    def check(key):
        if key not in valid:
            raise ValueError(f"{cls.__name__} has no setting {key!r}; valid settings: "
                             f"{', '.join(valid)}")

    for key, value in config.items():
        check(key)
        settings[key] = tuple(value) if isinstance(value, list) else value
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {item!r}")
        check(key)
        try:
            settings[key] = _parse_value(text, defaults[key])
        except ValueError as exc:
            raise ValueError(f"--set {key}: cannot parse {text!r} like the default "
                             f"{defaults[key]!r}: {exc}") from None
    return settings


def _read_config(path) -> dict:
    import tomllib

    path = Path(path)
    try:
        with open(path, "rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    nested = [key for key, value in config.items() if isinstance(value, dict)]
    if nested:
        raise ValueError(f"{path}: expected flat 'setting = value' lines, found table(s) "
                         f"{', '.join(nested)}")
    return config


def _holds_run(path: Path) -> bool:
    from physgen.training import checkpoint as ckpt

    return path.is_dir() and any(
        (path / name).exists() for name in (ckpt.CONFIG, ckpt.MANIFEST)) or any(
        ckpt.CHECKPOINT_PATTERN.match(p.name) for p in (path.iterdir() if path.is_dir() else ()))


@click.command(name="train")
@click.argument("family")
@click.option("--data", required=True, type=click.Path(), help="Training data file.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Run directory to write (checkpoints go there too).")
@click.option("--config", "config_path", type=click.Path(), default=None,
              help="TOML file of settings (flat key = value).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override one setting (repeatable).")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from its newest complete checkpoint.")
def command(family, data, out, config_path, overrides, resume):
    """Train model FAMILY (rbm, bm, gan, vae, ebm, diffusion, ...) on --data."""
    import physgen as pg
    from physgen.models import FAMILIES, get_family
    from physgen.training import checkpoint as ckpt

    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; expected one of "
                         f"{', '.join(FAMILIES)}")
    cls = get_family(family)
    out = Path(out)
    config = {}
    latest = ckpt.latest_checkpoint(out) if out.is_dir() else None
    if _holds_run(out):
        if not resume:
            raise ValueError(f"{out} already holds a run; pass --resume to continue it or "
                             "choose another --out")
        if latest is None:
            raise ValueError(f"{out}: no complete checkpoint to resume from")
        saved = ckpt.read_run(latest).config
        if saved["class"] != cls.__name__:
            raise ValueError(f"{out} holds a {saved['class']} run, not {cls.__name__}")
        config.update(saved["settings"])
    if config_path is not None:
        config.update(_read_config(config_path))
    settings = resolve_settings(cls, config, overrides)
    dataset = pg.data.load(data)
    model = cls(**settings)
    y = dataset.y if model.conditional else None
    model.fit(dataset.x, y, checkpoint_dir=out, resume=resume)
    model.save(out, overwrite=True)
    last = model.history_[-1] if model.history_ else {}
    summary = ", ".join(f"{k}={v:.4g}" for k, v in last.items()
                        if k not in ("epoch", "time") and isinstance(v, float))
    click.echo(f"trained {cls.__name__} for {len(model.history_)} epochs on "
               f"{len(dataset.x)} samples of shape {model.event_shape_} ({model.domain_}); "
               f"{summary}; run saved to {out}")
