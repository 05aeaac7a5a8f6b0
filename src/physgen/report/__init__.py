"""The evaluation report: metrics, physics and analysis of real vs generated samples.

>>> import physgen as pg
>>> ev = pg.evaluate(real=X, fake=Y, temperature=2.27, seed=0)
>>> print(ev.summary())
>>> ev.to_html("report/")            # report/report.html, figures embedded
>>> ev.to_json("report/metrics.json")
"""

from physgen.report.evaluate import Evaluation, evaluate
from physgen.report.rows import MetricRow, ObservableRow

__all__ = ["Evaluation", "MetricRow", "ObservableRow", "evaluate"]
