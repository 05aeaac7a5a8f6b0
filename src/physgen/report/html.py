"""The self-contained HTML evaluation report: tables, and figures as embedded PNGs."""

from __future__ import annotations

import base64
import math
from html import escape

import numpy as np

from physgen.report import plots

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.92em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.7em; text-align: left; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.differs td.verdict { color: #b00020; font-weight: 600; }
tr.consistent td.verdict { color: #1b7a2a; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
.summary { font-size: 1.1em; padding: 0.6em 1em; background: #f6f8fa; border-left: 4px solid #888; }
.note { font-size: 0.88em; color: #555; }
"""

# Marks on <body> how many figures the browser decoded, e.g. data-figures-loaded="7/7":
# a reader (or a headless-browser test) can see at once that every figure rendered.
SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var ok = images.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute("data-figures-loaded", ok.length + "/" + images.length);
});
"""


def _num(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}g}"


def _pm(mean, stderr) -> str:
    if stderr is None or not math.isfinite(stderr):
        return _num(mean)
    return f"{_num(mean)} ± {_num(stderr, 2)}"


def _table(table_id: str, header: list[str], rows: list[list[str]], classes=None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for k, cells in enumerate(rows):
        css = f' class="{classes[k]}"' if classes else ""
        body.append(f"<tr{css}>" + "".join(cells) + "</tr>")
    return (f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>'
            + "\n".join(body) + "</tbody></table>")


def _td(text: str, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f"<td{cls}>{escape(text)}</td>"


def _figure(figure_id: str, png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure id="fig-{figure_id}"><img alt="{escape(caption)}" '
            f'src="data:image/png;base64,{data}">'
            f'<figcaption>{escape(caption)}</figcaption></figure>')


def _figures(ev) -> list[tuple[str, bytes, str]]:
    """Every figure of the report as (id, PNG, caption), rendered before writing."""
    data = ev._plot_data
    out = [("samples", plots.sample_grid(data["real_grid"], data["fake_grid"]),
            "The first samples of each set.")]
    if not data["spins"]:
        out.append(("marginals", plots.marginals(data["real_sub"], data["fake_sub"]),
                    "Marginal distributions of the first features."))
    out.append(("histograms", plots.histograms(data["key_features"]),
                "Distributions of energy per spin and |m|." if data["spins"]
                else "Distributions of the principal-component scores (pooled PCA)."))
    if data["observables"] is not None:
        out.append(("observables", plots.observables(ev.observables),
                    "Observables with one-standard-error bars; dashed: exact value."))
        g_real = data["observables"]["real"]["correlation_function"]
        g_fake = data["observables"]["fake"]["correlation_function"]
        out.append(("correlation", plots.correlation(g_real, g_fake),
                    "Spin–spin correlation G(r) along the lattice axes."))
    out.append(("pca", plots.pca_scatter(ev.phases),
                "Real and generated samples in the principal components of the pooled "
                "samples, with K-means centres; explained variance of PCAs fitted to each."))
    out.append(("dendrograms", plots.dendrograms(ev.phases),
                "Agglomerative clustering of random subsets in the same coordinates "
                "(last 30 merges)."))
    if ev.run is not None:
        curves = plots.training_curves(ev.run["history"])
        if curves is not None:
            out.append(("training", curves, f"Training curves of {ev.run['path']}."))
    return out


def _metrics_section(ev) -> str:
    rows, classes = [], []
    for r in ev.metrics:
        rows.append([_td(r.label), _td(r.features), _td(_pm(r.value, r.stderr), "num"),
                     _td(_num(r.null_value), "num"), _td(_num(r.p_value, 3), "num"),
                     _td(r.test), _td(r.verdict, "verdict")])
        classes.append(r.verdict.replace(" ", "-"))
    table = _table("metrics", ["metric", "features", "value ± error", "if equal", "p-value",
                               "test", "verdict"], rows, classes)
    return ("<section><h2>Metrics</h2>" + table +
            f'<p class="note">Verdict: "consistent" if the p-value of the null hypothesis '
            f'"same distribution" is at least α = {ev.info["alpha"]}, "differs" otherwise. '
            f'With many checks an occasional "differs" is expected by chance. Errors are '
            f'bootstrap standard errors unless the test column says otherwise; "if equal" is '
            f'the value for identical distributions where it is known.</p></section>')


def _observables_section(ev) -> str:
    if not ev.observables:
        return ""
    rows, classes = [], []
    for r in ev.observables:
        rows.append([_td(r.label), _td(_pm(float(r.real.mean), float(r.real.stderr)), "num"),
                     _td(_pm(float(r.fake.mean), float(r.fake.stderr)), "num"),
                     _td(_num(r.exact, 7), "num"), _td(_num(r.z, 3), "num"),
                     _td(_num(r.z_real_exact, 3), "num"), _td(_num(r.z_fake_exact, 3), "num"),
                     _td(_num(r.p_value, 3), "num"), _td(r.verdict, "verdict")])
        classes.append(r.verdict.replace(" ", "-"))
    table = _table("observables", ["observable", "real", "generated", "exact", "z (gen − real)",
                                   "z real vs exact", "z gen vs exact", "p-value", "verdict"],
                   rows, classes)
    source = ev.info.get("exact_reference") or "none available for this lattice/temperature"
    return ("<section><h2>Physical observables</h2>" + table +
            f'<p class="note">Per spin, with bootstrap errors (physgen.ising.observables); '
            f'z-scores combine both errors; exact values: {escape(source)}.</p></section>')


def _analysis_section(ev) -> str:
    ph = ev.phases
    fmt = lambda v: ", ".join(f"{x:.3f}" for x in np.asarray(v))  # noqa: E731
    rows = [
        [_td("explained variance ratio (PCA fitted to each)"), _td(fmt(ph.explained_variance_real)),
         _td(fmt(ph.explained_variance_fake))],
    ]
    if ph.order_parameter_correlation:
        rows.append([_td("corr(|PC1|, |m|)"),
                     _td(_num(ph.order_parameter_correlation["real"])),
                     _td(_num(ph.order_parameter_correlation["fake"]))])
    rows.append([_td(f"K-means occupancy (p = {_num(ph.occupancy.p_value, 3)})"),
                 _td(fmt(ph.occupancy.fractions_x)), _td(fmt(ph.occupancy.fractions_y))])
    for method, trees in ph.hierarchical.items():
        pooled = ph.hierarchical_occupancy[method]
        rows.append([_td(f"{method} linkage: cluster sizes (each clustered alone)"),
                     _td(fmt(np.sort(np.bincount(trees["real"].labels))[::-1]
                             / len(trees["real"].labels))),
                     _td(fmt(np.sort(np.bincount(trees["fake"].labels))[::-1]
                             / len(trees["fake"].labels)))])
        rows.append([_td(f"{method} linkage: pooled clusters (p = {_num(pooled.p_value, 3)})"),
                     _td(fmt(pooled.fractions_x)), _td(fmt(pooled.fractions_y))])
    return ("<section><h2>Unsupervised analysis</h2>" +
            _table("analysis", ["quantity", "real", "generated"], rows) + "</section>")


def _info_section(ev) -> str:
    info = ev.info
    items = [("real samples", info["n_real"]), ("generated samples", info["n_fake"]),
             ("sample shape", "×".join(map(str, info["sample_shape"])) or "scalar"),
             ("kind", info["kind"]), ("temperature", _num(info["temperature"])),
             ("seed", info["seed"]), ("α", info["alpha"]),
             ("permutations / bootstrap resamples",
              f"{info['n_permutations']} / {info['n_resamples']}"),
             ("subset for costly metrics", f"≤ {info['max_samples']} per set"),
             ("physgen", info["physgen_version"])]
    rows = [[_td(k), _td(str(v))] for k, v in items]
    return _table("info", ["setting", "value"], rows)


def _run_section(ev, figures_html: str) -> str:
    if ev.run is None:
        return ""
    config = ev.run["config"]
    rows = [[_td(str(k)), _td(str(v))] for k, v in sorted(config.items())]
    table = _table("config", ["setting", "value"], rows) if rows else "<p>No config.json.</p>"
    return (f"<section><h2>Training run</h2><p>{escape(ev.run['path'])}: "
            f"{len(ev.run['history'])} logged epochs.</p>{table}{figures_html}</section>")


def render(ev) -> str:
    """The report page for an :class:`~physgen.report.evaluate.Evaluation`."""
    figures = _figures(ev)
    main = "\n".join(_figure(i, png, cap) for i, png, cap in figures if i != "training")
    training = "\n".join(_figure(i, png, cap) for i, png, cap in figures if i == "training")
    total = len(ev.metrics) + len(ev.observables)
    summary = (f"{ev.n_differs} of {total} checks reject “same distribution” at "
               f"α = {ev.info['alpha']}.")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>physgen evaluation report</title><style>{STYLE}</style></head><body>",
        "<h1>physgen evaluation report</h1>",
        f'<p class="summary" id="summary">{escape(summary)}</p>',
        _info_section(ev),
        _metrics_section(ev),
        _observables_section(ev),
        _analysis_section(ev),
        f'<section id="figures"><h2>Figures</h2>{main}</section>',
        _run_section(ev, training),
        f"<script>{SCRIPT}</script>",
        "</body></html>",
    ]) + "\n"
