"""Timing shared by the benchmark scripts (imported as ``_timing``: the scripts run from
this folder)."""

from __future__ import annotations

import time

import numpy as np


def best_times(fits, repeats: int) -> list[tuple[float, float]]:
    """(best CPU seconds, best wall seconds) of each fit, run alternately, so that every fit
    sees the same machine load; process CPU time is robust to other processes."""
    best = [(np.inf, np.inf) for _ in fits]
    for _ in range(repeats):
        for index, fit in enumerate(fits):
            cpu, wall = time.process_time(), time.perf_counter()
            fit()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            best[index] = (min(best[index][0], cpu), min(best[index][1], wall))
    return best
