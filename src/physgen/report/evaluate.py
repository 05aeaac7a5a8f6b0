"""``pg.evaluate``: every metric, the physics and the analysis of real vs generated samples."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import scipy.stats
from tqdm.auto import tqdm

from physgen import metrics
from physgen.analysis import compare_phases, is_spins, ising_feature_matrix, pca
from physgen.metrics._checks import as_pair, check_count
from physgen.random import as_generator
from physgen.report.io import dumps, read_run, write_atomic
from physgen.report.physics import compare_observables
from physgen.report.rows import MetricRow, finite_or_nan, verdict
from physgen.stats import Estimate

SUMMARY_DIMENSIONS = 32  # Fréchet / kernel distance work on at most this many features
N_GRID_SAMPLES = 16
MIN_SAMPLES = 20
PR_SAMPLES = 1000  # samples per set in the precision/recall test (it keeps 2000² distances)
MMD_SCALES = (0.5, 1.0, 2.0)  # bandwidths of the report's MMD, in units of the median distance


class Evaluation:
    """The outcome of :func:`evaluate`: tables, analysis and what the plots need.

    Attributes
    ----------
    metrics : list of MetricRow
    observables : list of ObservableRow
        Empty unless the samples are Ising spins.
    phases : physgen.analysis.PhaseAnalysis
    info : dict
        Sizes, shapes, temperature, seed, alpha and the settings used.
    run : dict or None
        ``history`` and ``config`` of the run directory, if one was given.
    """

    def __init__(self, metrics_rows, observables, phases, info, run, plot_data):
        self.metrics = list(metrics_rows)
        self.observables = list(observables)
        self.phases = phases
        self.info = dict(info)
        self.run = run
        self._plot_data = plot_data

    @property
    def n_differs(self) -> int:
        """How many metrics and observables reject "same distribution" at ``alpha``."""
        return sum(r.verdict == "differs" for r in [*self.metrics, *self.observables])

    def to_dict(self) -> dict:
        """Everything numeric, JSON-ready (NaN -> None)."""
        ph = self.phases
        analysis = {
            "explained_variance_real": ph.explained_variance_real,
            "explained_variance_fake": ph.explained_variance_fake,
            "order_parameter_correlation": ph.order_parameter_correlation,
            "kmeans": {"n_clusters": ph.kmeans.n_clusters,
                       "fractions_real": ph.occupancy.fractions_x,
                       "fractions_fake": ph.occupancy.fractions_y,
                       "chi2": ph.occupancy.statistic, "p_value": ph.occupancy.p_value},
            "hierarchical": {
                method: {"cluster_fractions_real": _sorted_fractions(trees["real"].labels),
                         "cluster_fractions_fake": _sorted_fractions(trees["fake"].labels),
                         "pooled_fractions_real": ph.hierarchical_occupancy[method].fractions_x,
                         "pooled_fractions_fake": ph.hierarchical_occupancy[method].fractions_y,
                         "pooled_p_value": ph.hierarchical_occupancy[method].p_value}
                for method, trees in ph.hierarchical.items()},
        }
        out = {"info": self.info, "metrics": [r.to_dict() for r in self.metrics],
               "observables": [r.to_dict() for r in self.observables],
               "analysis": analysis, "n_differs": self.n_differs}
        if self.run is not None:
            out["run"] = {"path": self.run["path"], "config": self.run["config"],
                          "n_epochs": len(self.run["history"]),
                          "final": self.run["history"][-1] if self.run["history"] else {}}
        return out

    def to_json(self, path) -> Path:
        """Write the metrics as JSON (atomically: an old file survives any failure)."""
        return write_atomic(path, dumps(self.to_dict()))

    def to_html(self, directory) -> Path:
        """Write ``directory/report.html``: one self-contained page, figures embedded.

        Every figure is rendered before anything is written, and the page goes through
        a temporary file and a rename, so a failure leaves an existing report intact.
        """
        from physgen.report.html import render

        directory = Path(directory)
        if directory.exists() and not directory.is_dir():
            raise ValueError(f"{directory} exists and is not a directory; expected a report "
                             f"directory")
        page = render(self)
        directory.mkdir(parents=True, exist_ok=True)
        return write_atomic(directory / "report.html", page)

    def summary(self) -> str:
        """A plain-text table of the metrics and observables."""
        lines = [f"{'metric':<38} {'value':>22} {'p':>9}  verdict"]
        for r in self.metrics:
            lines.append(f"{r.label[:38]:<38} {_format(r.value, r.stderr):>22} "
                         f"{_format_p(r.p_value):>9}  {r.verdict}")
        for r in self.observables:
            lines.append(f"{r.label[:38]:<38} {'z = ' + format(r.z, '.2f'):>22} "
                         f"{_format_p(r.p_value):>9}  {r.verdict}")
        total = len(self.metrics) + len(self.observables)
        lines.append(f"{self.n_differs} of {total} checks differ at alpha = {self.info['alpha']}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Evaluation(n_real={self.info['n_real']}, n_fake={self.info['n_fake']}, "
                f"metrics={len(self.metrics)}, observables={len(self.observables)}, "
                f"n_differs={self.n_differs})")


def _format(value, stderr) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if stderr is None or not math.isfinite(stderr):
        return f"{value:.4g}"
    return f"{value:.4g} ± {stderr:.2g}"


def _format_p(p) -> str:
    return "—" if p is None or not math.isfinite(p) else f"{p:.3g}"


def _sorted_fractions(labels) -> np.ndarray:
    counts = np.bincount(labels)
    return np.sort(counts)[::-1] / counts.sum()


def _subsample(x: np.ndarray, n_max: int, rng) -> np.ndarray:
    if len(x) <= n_max:
        return x
    return x[np.sort(rng.choice(len(x), n_max, replace=False))]


def _row(name, label, features, estimate, p_value, test, alpha, null_value=None) -> MetricRow:
    mean = finite_or_nan(estimate.mean if isinstance(estimate, Estimate) else estimate)
    err = finite_or_nan(estimate.stderr) if isinstance(estimate, Estimate) else float("nan")
    p = None if p_value is None else float(p_value)
    return MetricRow(name, label, features, mean, err, null_value, p, test, verdict(p, alpha))


def _check_temperature(temperature) -> float | None:
    if temperature is None:
        return None
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        t = float("nan")
    if not math.isfinite(t) or t <= 0:
        raise ValueError(f"temperature must be a finite positive number or None, got "
                         f"{temperature!r}")
    return t


def _summary_features(real, fake, spins: bool):
    """Low-dimensional features for Fréchet and the kernel distance, and their name."""
    if spins:
        _, f_real = ising_feature_matrix(real)
        _, f_fake = ising_feature_matrix(fake)
        return f_real, f_fake, "physics observables (e, |m|, G(r))"
    a, b = as_pair(real, fake, ("real", "fake"))
    if a.shape[1] <= SUMMARY_DIMENSIONS:
        return a, b, "raw"
    k = min(SUMMARY_DIMENSIONS, len(a))
    fitted = pca(a, k)
    return fitted.scores, fitted.transform(b), f"first {k} principal components of real"


def _key_features(real, fake, spins, phases) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """1-D features compared as distributions: energy and |m|, or PC1 and PC2 (pooled)."""
    if spins:
        _, f_real = ising_feature_matrix(real)
        _, f_fake = ising_feature_matrix(fake)
        return {"energy per spin": (f_real[:, 0], f_fake[:, 0]),
                "|m|": (f_real[:, 1], f_fake[:, 1])}
    out = {}
    for j in range(min(2, phases.scores_real.shape[1])):
        out[f"PC{j + 1} score"] = (phases.scores_real[:, j], phases.scores_fake[:, j])
    return out


def evaluate(real, fake, temperature=None, run=None, seed=0, *, alpha: float = 0.01,
             n_permutations: int = 200, n_resamples: int = 100, max_samples: int = 5000,
             progress: bool | None = None) -> Evaluation:
    """Judge generated samples against real ones: metrics, physics, analysis.

    Every metric gets a value, an error, a p-value for the null hypothesis "real and
    fake come from one distribution" and a verdict ("consistent" if p ≥ ``alpha``,
    else "differs"); with many metrics an occasional "differs" at a small alpha is
    expected by chance, so read the table as a whole.

    Parameters
    ----------
    real : array_like, shape (n, ...)
    fake : array_like, shape (m, ...)
        Same sample shape. ±1 arrays of shape (n, L, L) or (n, L) are treated as Ising
        configurations (physics observables, energy and |m| distributions).
    temperature : float, optional
        Of the real Ising samples: adds the specific heat, susceptibility and exact values.
    run : str or Path, optional
        A run directory; its ``history.json`` gives the training curves.
    seed : seed-like
        Fixes every random choice: same seed, same numbers.
    alpha : float
        Significance level of the verdicts.
    n_permutations : int
        Permutations per permutation test (p-values ≥ 1 / (n_permutations + 1)).
    n_resamples : int
        Bootstrap resamples for the errors.
    max_samples : int
        The costly metrics (MMD, C2ST, sliced W1, precision/recall, analysis) use a
        random subset of at most this many samples of each.
    progress : bool, optional
        Progress bar (default: only on a terminal).

    Returns
    -------
    Evaluation
        ``to_html(directory)`` and ``to_json(path)`` write the report.
    """
    real_arr, fake_arr = np.asarray(real), np.asarray(fake)
    # finite, enough samples for cross-validation and real/real splits, same features
    a, _ = as_pair(real_arr, fake_arr, ("real", "fake"), min_samples=MIN_SAMPLES)
    if real_arr.shape[1:] != fake_arr.shape[1:]:
        raise ValueError(f"real and fake must have the same sample shape, got "
                         f"{real_arr.shape[1:]} and {fake_arr.shape[1:]}")
    temperature = _check_temperature(temperature)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    n_permutations = check_count("n_permutations", n_permutations)
    if (n_permutations + 1) * alpha < 1:
        raise ValueError(f"n_permutations={n_permutations} cannot give a permutation p-value "
                         f"below alpha={alpha}; use at least {math.ceil(1 / alpha) - 1}")
    n_resamples = check_count("n_resamples", n_resamples, minimum=2)
    max_samples = check_count("max_samples", max_samples, minimum=20)
    run_record = read_run(run) if run is not None else None  # fail before the long work
    spins = is_spins(real_arr)
    if spins and not is_spins(fake_arr):
        raise ValueError("real samples are ±1 spin configurations but fake samples contain "
                         "other values; generate spins in the same domain (±1)")
    rng = as_generator(seed)
    streams = iter(rng.spawn(16))
    sub_real = _subsample(real_arr, max_samples, next(streams))
    sub_fake = _subsample(fake_arr, max_samples, next(streams))
    rows: list[MetricRow] = []
    steps = tqdm(total=8, desc="evaluate", unit="step", leave=False,
                 disable=None if progress is None else not progress)

    # Two-sample tests on the raw samples. The median heuristic alone can be a poor
    # bandwidth (for Ising configurations half of it has several times the power), so
    # MMD sums kernels at ½, 1 and 2 times the median distance.
    mmd_seed, mmd_test_seed = next(streams).spawn(2)
    median = metrics.median_bandwidth(sub_real, sub_fake, seed=mmd_seed)
    test = metrics.mmd_test(sub_real, sub_fake, bandwidth=[median * s for s in MMD_SCALES],
                            n_permutations=n_permutations, n_resamples=n_resamples,
                            seed=mmd_test_seed)
    rows.append(_row("mmd", "MMD² (Gaussian kernels at ½, 1, 2 × median distance)", "raw",
                     test.estimate, test.p_value, f"permutation ({n_permutations})", alpha, 0.0))
    steps.update()
    test = metrics.wasserstein_test(sub_real, sub_fake, n_projections=50,
                                    n_permutations=n_permutations, n_resamples=n_resamples,
                                    seed=next(streams))
    label = ("W1 (exact, one feature)" if test.details["method"] == "per_feature"
             else f"sliced W1 ({test.details['n_projections']} directions)")
    rows.append(_row("sliced_wasserstein", label, "raw", test.estimate, test.p_value,
                     f"permutation ({n_permutations})", alpha))
    steps.update()
    if spins:
        p_real = ising_feature_matrix(sub_real)[1]
        p_fake = ising_feature_matrix(sub_fake)[1]
        c2st_features, c2st_name = (p_real, p_fake), "physics observables (e, |m|, G(r))"
    else:
        c2st_features, c2st_name = (sub_real, sub_fake), "raw"
    c2 = metrics.c2st(*c2st_features, seed=next(streams))
    rows.append(_row("c2st_auc", f"classifier two-sample test, ROC AUC ({c2.classifier})",
                     c2st_name, c2.auc, c2.p_value, "Mann–Whitney null of held-out folds",
                     alpha, 0.5))
    steps.update()
    rows += _precision_recall_rows(sub_real, sub_fake, next(streams), alpha, n_permutations)
    steps.update()

    # Distances between summaries (physics observables for spins).
    s_real, s_fake, s_name = _summary_features(real_arr, fake_arr, spins)
    frechet_seed, frechet_test_seed = next(streams).spawn(2)
    fd = metrics.frechet_distance(s_real, s_fake, return_estimate=True,
                                  n_resamples=n_resamples, seed=frechet_seed)
    fd_test = metrics.permutation_test(metrics.frechet_distance, s_real, s_fake,
                                       n_permutations=n_permutations, seed=frechet_test_seed)
    rows.append(_row("frechet", "Fréchet distance of Gaussian fits", s_name, fd,
                     fd_test.p_value, f"permutation ({n_permutations})", alpha))
    center, scale = s_real.mean(axis=0), s_real.std(axis=0)
    scale[scale == 0] = 1.0
    # subsets of at most half of each set, so that they differ and have a spread
    subset = min(1000, min(len(s_real), len(s_fake)) // 2)
    kid = metrics.kernel_distance((s_real - center) / scale, (s_fake - center) / scale,
                                  n_subsets=50, subset_size=subset, seed=next(streams))
    kid_p = float(scipy.stats.norm.sf(kid.mean / kid.stderr)) if kid.stderr > 0 else (
        1.0 if kid.mean <= 0 else 0.0)
    rows.append(_row("kernel_distance", "kernel distance: cubic-kernel MMD², median ± spread",
                     s_name + ", standardised", kid, kid_p,
                     f"normal, spread of {subset}-sample subsets (conservative)", alpha, 0.0))
    steps.update()

    phases = compare_phases(sub_real, sub_fake, n_components=min(2, a.shape[1]), n_clusters=3,
                            seed=next(streams))
    rows.append(_row("phase_occupancy", f"K-means phase occupancy ({phases.kmeans.n_clusters} "
                     f"clusters), chi²", "first 2 principal components (pooled)",
                     phases.occupancy.statistic, phases.occupancy.p_value,
                     "chi-square homogeneity", alpha))
    steps.update()

    key = _key_features(sub_real if not spins else real_arr, sub_fake if not spins else fake_arr,
                        spins, phases)
    for k, (name, (a, b)) in enumerate(key.items()):
        rows += _distribution_rows(name, a, b, first=k == 0, spins=spins, alpha=alpha,
                                   n_permutations=n_permutations, n_resamples=n_resamples,
                                   seed=next(streams))
    steps.update()

    observables, obs_estimates, exact_source = [], None, ""
    if spins:
        observables, obs_estimates, exact_source = compare_observables(
            real_arr, fake_arr, temperature, alpha=alpha, seed=next(streams))
    steps.update()
    steps.close()

    info = {
        "n_real": int(len(real_arr)), "n_fake": int(len(fake_arr)),
        "sample_shape": list(real_arr.shape[1:]), "kind": "ising spins" if spins else "continuous",
        "temperature": temperature, "seed": seed if isinstance(seed, (int, np.integer)) else None,
        "alpha": alpha, "n_permutations": n_permutations, "n_resamples": n_resamples,
        "max_samples": max_samples, "exact_reference": exact_source,
    }
    from physgen import __version__
    info["physgen_version"] = __version__
    plot_data = {
        "spins": spins,
        "real_grid": real_arr[:N_GRID_SAMPLES], "fake_grid": fake_arr[:N_GRID_SAMPLES],
        "key_features": key, "observables": obs_estimates,
        "exact": {r.name: r.exact for r in observables if r.exact is not None},
    }
    if not spins:
        plot_data.update(real_sub=sub_real, fake_sub=sub_fake)
    return Evaluation(rows, observables, phases, info, run_record, plot_data)


def _precision_recall_rows(real, fake, rng, alpha, n_permutations) -> list[MetricRow]:
    """Precision and recall against a real/real baseline of equal sizes (both fall below
    1 for identical distributions at finite n), with permutation p-values."""
    tests = metrics.precision_recall_test(real, fake, max_samples=PR_SAMPLES,
                                          n_permutations=n_permutations, seed=rng)
    rows = []
    for name in ("precision", "recall"):
        test = getattr(tests, name)
        rows.append(MetricRow(
            name, f"k-NN {name} (k = 3, {test.details['n']} samples per set)", "raw",
            test.details["value"], test.stderr, test.details["baseline"], test.p_value,
            f"permutation ({n_permutations}) against a real/real split",
            verdict(test.p_value, alpha)))
    return rows


def _distribution_rows(name, a, b, *, first, spins, alpha, n_permutations, n_resamples, seed):
    """W1 of a 1-D feature; for the first feature also KL, JS and TV of its histogram."""
    streams = iter(seed.spawn(8))
    test = metrics.wasserstein_test(a, b, n_permutations=n_permutations,
                                    n_resamples=n_resamples, seed=next(streams))
    rows = [_row(f"w1[{name}]", f"W1 of {name}", name, test.estimate, test.p_value,
                 f"permutation ({n_permutations})", alpha)]
    if not first:
        return rows
    kind = "discrete" if spins else "continuous"
    what = "levels" if spins else "32-bin histogram"
    for key, label in (("kl", "KL(real ‖ fake), smoothing ½"),
                       ("js", "Jensen–Shannon divergence"), ("tv", "total variation")):
        test = metrics.divergence_test(a, b, divergence=key, kind=kind, bins=32,
                                       n_permutations=n_permutations, n_resamples=n_resamples,
                                       seed=next(streams))
        rows.append(_row(f"{key}[{name}]", f"{label} of {name} ({what})", name, test.estimate,
                         test.p_value, f"permutation ({n_permutations})", alpha))
    return rows
