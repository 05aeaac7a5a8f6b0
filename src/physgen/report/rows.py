"""Rows of the evaluation tables and the verdict rule."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.stats

from physgen.stats import Estimate

CONSISTENT, DIFFERS, NO_TEST = "consistent", "differs", "no test"


def verdict(p_value: float | None, alpha: float) -> str:
    """"consistent" with equal distributions if p ≥ alpha, "differs" if p < alpha."""
    if p_value is None or not math.isfinite(p_value):
        return NO_TEST
    return CONSISTENT if p_value >= alpha else DIFFERS


def z_test(a: Estimate, b: Estimate) -> tuple[float, float]:
    """z = (b - a) / sqrt(σa² + σb²) and its two-sided normal p-value."""
    diff = float(b.mean) - float(a.mean)
    scale = math.hypot(float(a.stderr), float(b.stderr))
    if scale == 0:
        return (0.0, 1.0) if diff == 0 else (math.copysign(math.inf, diff), 0.0)
    z = diff / scale
    return z, float(2.0 * scipy.stats.norm.sf(abs(z)))


@dataclass(frozen=True)
class MetricRow:
    """One line of the metrics table.

    Attributes
    ----------
    name : str
        Machine key, e.g. "mmd".
    label : str
        What was measured, for people.
    features : str
        What the metric saw: "raw", "physics observables", "PC scores", ...
    value, stderr : float
        The metric and its error (NaN where none).
    null_value : float or None
        Its value for identical distributions when that is known (0, ½), else None.
    p_value : float or None
        Of the null hypothesis "same distribution".
    test : str
        How the p-value was obtained.
    verdict : str
        "consistent", "differs" or "no test".
    """

    name: str
    label: str
    features: str
    value: float
    stderr: float
    null_value: float | None
    p_value: float | None
    test: str
    verdict: str

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "features": self.features,
                "value": self.value, "stderr": self.stderr, "null_value": self.null_value,
                "p_value": self.p_value, "test": self.test, "verdict": self.verdict}


@dataclass(frozen=True)
class ObservableRow:
    """A physical observable of real and generated samples side by side.

    ``z`` is (fake - real) / combined error (for G(r): the largest |z| over r ≥ 1, with
    a Bonferroni p-value); ``z_real_exact`` and ``z_fake_exact`` compare each with the
    exact value when one is known.
    """

    name: str
    label: str
    real: Estimate
    fake: Estimate
    exact: float | None
    z: float
    p_value: float
    verdict: str
    z_real_exact: float | None = None
    z_fake_exact: float | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "real": self.real.to_dict(),
                "fake": self.fake.to_dict(), "exact": self.exact, "z": self.z,
                "p_value": self.p_value, "verdict": self.verdict,
                "z_real_exact": self.z_real_exact, "z_fake_exact": self.z_fake_exact}


def finite_or_nan(value) -> float:
    v = float(np.asarray(value, dtype=np.float64))
    return v if math.isfinite(v) else float("nan")
