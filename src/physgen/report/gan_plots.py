"""GAN diagnostics as figures: losses and discriminator outputs over training, and sample
grids at chosen epochs (from :class:`physgen.training.SampleSnapshot`).

Matplotlib is imported inside the functions (through :mod:`physgen.report.plots`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

LOG2 = math.log(2.0)


def _write(fig, path) -> Path:
    from physgen.report.plots import _png

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_png(fig))
    return path


def _series(history, key):
    epochs = [r["epoch"] for r in history if key in r]
    return epochs, [r[key] for r in history if key in r]


def plot_gan_history(history, path) -> Path:
    """Loss curves, mean discriminator outputs and the divergence estimates per epoch.

    Panels: ``d_loss`` and ``g_loss`` (with the equilibrium values 2 log 2 and log 2 of the
    cross-entropy losses); ``d_real`` and ``d_fake`` (with D = 1/2); ``js_estimate`` (within
    [0, log 2]) and, for WGAN-GP, ``wasserstein_estimate`` and ``gradient_penalty``.

    Parameters
    ----------
    history : list of dict
        ``GAN.history_`` (one record per epoch).
    path : path of the PNG to write

    Returns
    -------
    Path
    """
    from physgen.report.plots import FAKE, REAL, _figure

    history = list(history)
    missing = [k for k in ("epoch", "d_loss", "g_loss", "d_real", "d_fake", "js_estimate")
               if not history or k not in history[0]]
    if missing:
        raise ValueError(f"history must be a GAN's history_ (a non-empty list of per-epoch "
                         f"records); missing {', '.join(missing)}")
    wasserstein = "wasserstein_estimate" in history[0]
    fig = _figure(13, 3.6)
    axes = fig.subplots(1, 3)
    for key, color in (("d_loss", REAL), ("g_loss", FAKE)):
        axes[0].plot(*_series(history, key), color=color, label=key)
    if not wasserstein:
        for value, text in ((2 * LOG2, "2 log 2"), (LOG2, "log 2")):
            axes[0].axhline(value, color="0.6", ls=":", lw=1)
            axes[0].annotate(text, (1, value), fontsize=7, color="0.4")
    axes[0].set_title("losses")
    for key, color, label in (("d_real", REAL, "D(x), real"), ("d_fake", FAKE, "D(G(z)), generated")):
        axes[1].plot(*_series(history, key), color=color, label=label)
    if wasserstein:
        axes[1].set_title("mean critic value")
    else:
        axes[1].axhline(0.5, color="0.6", ls=":", lw=1, label="D = 1/2")
        axes[1].set_ylim(-0.02, 1.02)
        axes[1].set_title("mean discriminator output")
    if wasserstein:
        axes[2].plot(*_series(history, "wasserstein_estimate"), color=REAL,
                     label="Wasserstein estimate")
        axes[2].plot(*_series(history, "gradient_penalty"), color=FAKE,
                     label="gradient penalty")
        axes[2].set_title("critic diagnostics")
    else:
        axes[2].plot(*_series(history, "js_estimate"), color=REAL, label="JS estimate")
        axes[2].axhline(LOG2, color="0.6", ls=":", lw=1, label="log 2 (disjoint)")
        axes[2].set_ylim(-0.02, LOG2 + 0.05)
        axes[2].set_title("Jensen–Shannon estimate (nats)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(frameon=False, fontsize=8)
    return _write(fig, path)


def plot_sample_snapshots(snapshots, path, n_columns: int = 8) -> Path:
    """Samples drawn at chosen epochs, one row (or panel) per epoch.

    Lattices ``(n, L, L)`` are shown as images, ``n_columns`` per row; 2-D points
    ``(n, 2)`` as one scatter panel per epoch; other vectors ``(n, d)`` as images of one
    row of ``d`` sites each.

    Parameters
    ----------
    snapshots : sequence of (int, np.ndarray)
        ``(epoch, samples)`` pairs, e.g. ``SampleSnapshot.samples``.
    path : path of the PNG to write
    n_columns : int
        Lattices shown per epoch.

    Returns
    -------
    Path
    """
    from physgen.report.plots import FAKE, _figure

    snapshots = [(int(epoch), np.asarray(samples, dtype=np.float64))
                 for epoch, samples in snapshots]
    if not snapshots or any(s.ndim not in (2, 3) or len(s) == 0 for _, s in snapshots):
        raise ValueError("snapshots must be a non-empty sequence of (epoch, samples) pairs "
                         "with samples of shape (n, L, L) or (n, d)")
    if isinstance(n_columns, bool) or not isinstance(n_columns, int) or n_columns < 1:
        raise ValueError(f"n_columns must be a positive integer, got {n_columns!r}")
    points = all(s.ndim == 2 and s.shape[1] == 2 for _, s in snapshots)
    if points:
        fig = _figure(2.6 * len(snapshots), 2.8)
        axes = np.atleast_1d(fig.subplots(1, len(snapshots)))
        for ax, (epoch, samples) in zip(axes, snapshots):
            ax.scatter(samples[:, 0], samples[:, 1], s=4, color=FAKE)
            ax.set_title(f"epoch {epoch}", fontsize="small")
            ax.set_aspect("equal", adjustable="datalim")
        return _write(fig, path)
    fig = _figure(1.2 * n_columns + 1, 1.3 * len(snapshots) + 0.4)
    axes = np.array(fig.subplots(len(snapshots), n_columns, squeeze=False))
    for row, (epoch, samples) in zip(axes, snapshots):
        images = samples if samples.ndim == 3 else samples[:, None, :]
        for k, ax in enumerate(row):
            ax.set_axis_off()
            if k < len(images):
                ax.imshow(images[k], cmap="gray", vmin=min(images.min(), 0), vmax=1,
                          interpolation="nearest")
        row[0].set_title(f"epoch {epoch}", fontsize="small", loc="left")
    return _write(fig, path)
