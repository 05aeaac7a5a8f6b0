"""Figures of the evaluation report, each returned as PNG bytes.

Matplotlib is imported inside the functions (it is slow to import and only the report
needs it), and figures are drawn with the object-oriented ``Figure`` API, which never
touches pyplot's global state or the user's backend.
"""

from __future__ import annotations

import io
import math

import numpy as np

REAL, FAKE, EXACT = "#1f77b4", "#d62728", "#222222"
MAX_POINTS = 2000


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    # No "Software" entry: the bytes then depend only on the data and matplotlib.
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _thin(x: np.ndarray, n: int = MAX_POINTS) -> np.ndarray:
    step = max(1, math.ceil(len(x) / n))
    return x[::step]


def _mosaic(samples: np.ndarray, n_side: int) -> np.ndarray:
    """Tile up to n_side² lattices into one image with a gap of NaN between them."""
    L1, L2 = samples.shape[1:]
    canvas = np.full((n_side * (L1 + 1) - 1, n_side * (L2 + 1) - 1), np.nan)
    for k, sample in enumerate(samples[:n_side * n_side]):
        i, j = divmod(k, n_side)
        canvas[i * (L1 + 1):i * (L1 + 1) + L1, j * (L2 + 1):j * (L2 + 1) + L2] = sample
    return canvas


def sample_grid(real: np.ndarray, fake: np.ndarray) -> bytes:
    """Real and generated samples side by side.

    Lattices (n, L, L) are tiled as images; rings (n, L) are drawn one per row; other
    samples as a scatter of the first two features, or histograms of one feature.
    """
    fig = _figure(8, 4)
    axes = fig.subplots(1, 2)
    for ax, data, title in ((axes[0], real, "real"), (axes[1], fake, "generated")):
        data = np.asarray(data, dtype=np.float64)
        if data.ndim == 3:
            n_side = max(1, int(math.isqrt(min(len(data), 16))))
            ax.imshow(_mosaic(data, n_side), cmap="gray", interpolation="nearest")
            ax.set_axis_off()
        elif data.ndim == 2 and data.shape[1] > 2:
            ax.imshow(data[:16], cmap="gray", interpolation="nearest", aspect="auto")
            ax.set_xlabel("site")
            ax.set_ylabel("sample")
        elif data.ndim == 2 and data.shape[1] == 2:
            ax.scatter(data[:, 0], data[:, 1], s=12, color=REAL if title == "real" else FAKE)
            ax.set_xlabel("feature 1")
            ax.set_ylabel("feature 2")
        else:
            ax.hist(data.reshape(len(data), -1)[:, 0], bins=10,
                    color=REAL if title == "real" else FAKE)
        ax.set_title(f"{title} samples")
    return _png(fig)


def marginals(real: np.ndarray, fake: np.ndarray, n_features: int = 4) -> bytes:
    """Histograms of the first features (or a scatter when there are exactly two)."""
    a = np.asarray(real, dtype=np.float64).reshape(len(real), -1)
    b = np.asarray(fake, dtype=np.float64).reshape(len(fake), -1)
    if a.shape[1] == 2:
        fig = _figure(5, 4.5)
        ax = fig.subplots()
        ax.scatter(*_thin(a).T, s=4, alpha=0.4, color=REAL, label="real")
        ax.scatter(*_thin(b).T, s=4, alpha=0.4, color=FAKE, label="generated")
        ax.set_xlabel("feature 1")
        ax.set_ylabel("feature 2")
        ax.legend()
        return _png(fig)
    k = min(n_features, a.shape[1])
    fig = _figure(3.2 * k, 3)
    axes = np.atleast_1d(fig.subplots(1, k))
    for j, ax in enumerate(axes):
        edges = np.histogram_bin_edges(np.r_[a[:, j], b[:, j]], bins=40)
        ax.hist(a[:, j], bins=edges, density=True, histtype="step", color=REAL, label="real")
        ax.hist(b[:, j], bins=edges, density=True, histtype="step", color=FAKE, label="generated")
        ax.set_xlabel(f"feature {j + 1}")
    axes[0].legend()
    return _png(fig)


def _edges(values: np.ndarray) -> np.ndarray:
    """Bin edges: one bin per level for discrete data (energies, |m|), else 50 bins."""
    levels = np.unique(values)
    if 1 < len(levels) <= 200:
        mids = 0.5 * (levels[1:] + levels[:-1])
        first, last = levels[0] - (mids[0] - levels[0]), levels[-1] + (levels[-1] - mids[-1])
        return np.r_[first, mids, last]
    return np.histogram_bin_edges(values, bins=50)


def histograms(features: dict) -> bytes:
    """Distributions of 1-D features (energy and |m|, or PC scores), real vs generated.

    Parameters
    ----------
    features : dict[str, tuple[np.ndarray, np.ndarray]]
        name -> (real values, generated values).
    """
    fig = _figure(4.5 * len(features), 3.4)
    axes = np.atleast_1d(fig.subplots(1, len(features)))
    for ax, (name, (a, b)) in zip(axes, features.items()):
        edges = _edges(np.r_[a, b])
        ax.hist(a, bins=edges, density=True, histtype="stepfilled", alpha=0.35, color=REAL,
                label=f"real (n={len(a)})")
        ax.hist(b, bins=edges, density=True, histtype="step", linewidth=1.5, color=FAKE,
                label=f"generated (n={len(b)})")
        ax.set_xlabel(name)
        ax.set_ylabel("density")
    axes[0].legend(fontsize="small")
    return _png(fig)


def observables(rows) -> bytes:
    """Each scalar observable: real and generated with error bars, exact value as a line."""
    rows = [r for r in rows if r.name != "correlation_function"]
    n_cols = min(3, len(rows))
    n_rows = math.ceil(len(rows) / n_cols)
    fig = _figure(3.3 * n_cols, 2.6 * n_rows)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols)).ravel()
    for ax, row in zip(axes, rows):
        ax.errorbar([0], [row.real.mean], yerr=[row.real.stderr], fmt="o", color=REAL, capsize=4)
        ax.errorbar([1], [row.fake.mean], yerr=[row.fake.stderr], fmt="s", color=FAKE, capsize=4)
        if row.exact is not None:
            ax.axhline(row.exact, color=EXACT, linestyle="--", linewidth=1)
        ax.set_xticks([0, 1], ["real", "generated"])
        ax.set_xlim(-0.6, 1.6)
        ax.set_title(f"{row.label}\nz = {row.z:.2f}", fontsize="small")
    for ax in axes[len(rows):]:
        ax.set_axis_off()
    return _png(fig)


def correlation(real, fake) -> bytes:
    """G(r) of real and generated samples with error bars.

    Parameters
    ----------
    real, fake : physgen.stats.Estimate
        Array estimates of G(r), r = 0 .. L // 2.
    """
    fig = _figure(5, 3.6)
    ax = fig.subplots()
    r = np.arange(len(np.atleast_1d(real.mean)))
    ax.errorbar(r, real.mean, yerr=real.stderr, fmt="o-", color=REAL, capsize=3, label="real")
    ax.errorbar(r + 0.08, fake.mean, yerr=fake.stderr, fmt="s--", color=FAKE, capsize=3,
                label="generated")
    ax.set_xlabel("distance r")
    ax.set_ylabel("G(r) = ⟨s_i s_{i+r}⟩")
    ax.legend()
    return _png(fig)


def pca_scatter(phases) -> bytes:
    """Real and generated samples in the first two principal components of the pooled
    samples, with the K-means centres; and the explained variance of PCAs fitted to each."""
    fig = _figure(9, 4)
    ax, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    real, fake = phases.scores_real, phases.scores_fake
    y_real = real[:, 1] if real.shape[1] > 1 else np.zeros(len(real))
    y_fake = fake[:, 1] if fake.shape[1] > 1 else np.zeros(len(fake))
    ax.scatter(_thin(real[:, 0]), _thin(y_real), s=5, alpha=0.35, color=REAL, label="real")
    ax.scatter(_thin(fake[:, 0]), _thin(y_fake), s=5, alpha=0.35, color=FAKE, label="generated")
    centers = phases.kmeans.centers
    ax.scatter(centers[:, 0], centers[:, 1] if centers.shape[1] > 1 else np.zeros(len(centers)),
               marker="x", s=80, color=EXACT, label="K-means centres")
    ax.set_xlabel("PC1 (pooled)")
    ax.set_ylabel("PC2 (pooled)")
    ax.legend(fontsize="small")
    k = np.arange(len(phases.explained_variance_real))
    bars.bar(k - 0.2, phases.explained_variance_real, width=0.4, color=REAL, label="real")
    bars.bar(k + 0.2, phases.explained_variance_fake, width=0.4, color=FAKE, label="generated")
    bars.set_xticks(k, [f"PC{i + 1}" for i in k])
    bars.set_ylabel("explained variance ratio")
    return _png(fig)


def dendrograms(phases) -> bytes:
    """Agglomerative clustering trees of real and generated subsets, per linkage."""
    import scipy.cluster.hierarchy
    from matplotlib.collections import LineCollection

    methods = list(phases.hierarchical)
    fig = _figure(9, 2.8 * len(methods))
    axes = np.atleast_2d(fig.subplots(len(methods), 2))
    for row, method in zip(axes, methods):
        for ax, which in zip(row, ("real", "fake")):
            tree = phases.hierarchical[method][which].linkage
            # no_plot: SciPy's own drawing goes through pyplot; the coordinates suffice.
            d = scipy.cluster.hierarchy.dendrogram(tree, no_plot=True, truncate_mode="lastp",
                                                   p=30)
            links = [np.column_stack([xs, ys]) for xs, ys in zip(d["icoord"], d["dcoord"])]
            ax.add_collection(LineCollection(links, colors=REAL if which == "real" else FAKE,
                                             linewidths=0.8))
            ax.autoscale()
            ax.set_xticks([])
            ax.set_ylabel("merge distance")
            ax.set_title(f"{method} linkage, {'real' if which == 'real' else 'generated'} "
                         f"({len(tree) + 1} samples)", fontsize="small")
    return _png(fig)


def training_curves(history: list[dict]) -> bytes | None:
    """Every numeric logged value against the epoch (None if nothing is plottable)."""
    keys = []
    for record in history:
        for key, value in record.items():
            if key not in keys and key not in ("epoch", "step") and _is_number(value):
                keys.append(key)
    keys = keys[:12]
    if not keys:
        return None
    x_all = [r.get("epoch", i + 1) if _is_number(r.get("epoch", i + 1)) else i + 1
             for i, r in enumerate(history)]
    n_cols = min(3, len(keys))
    n_rows = math.ceil(len(keys) / n_cols)
    fig = _figure(3.4 * n_cols, 2.5 * n_rows)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols)).ravel()
    for ax, key in zip(axes, keys):
        points = [(x, r[key]) for x, r in zip(x_all, history) if _is_number(r.get(key))]
        xs, ys = zip(*points)
        ax.plot(xs, ys, color=REAL, linewidth=1.2)
        ax.set_title(key, fontsize="small")
        ax.set_xlabel("epoch")
    for ax in axes[len(keys):]:
        ax.set_axis_off()
    return _png(fig)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
