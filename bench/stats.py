"""Summaries of timing samples: nearest-rank percentiles, so p99 of 40 samples is the maximum."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence


def percentile(samples: Sequence[float], p: float) -> float:
    """The nearest-rank `p`-th percentile (0 < p <= 100): a value that was actually measured."""
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples: Sequence[float], scale: float = 1.0) -> dict[str, float]:
    """Count, p50, p90, p99, mean, min and max, each multiplied by `scale` (e.g. 1000 for ms)."""
    return {
        "n": float(len(samples)),
        "p50": percentile(samples, 50) * scale,
        "p90": percentile(samples, 90) * scale,
        "p99": percentile(samples, 99) * scale,
        "mean": sum(samples) / len(samples) * scale,
        "min": min(samples) * scale,
        "max": max(samples) * scale,
    }


def timed(call: Callable[[], object], count: int) -> list[float]:
    """Seconds taken by each of `count` sequential calls."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples
