"""What both bench runs share: the cached value's format and the latency figures.

A cached value is `<version>|<payload>`: reading back only the version (and
nothing that does not parse as one) lets a run tell a hit from a stale read
even when the learner has overwritten the key from their sandbox.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable

from patterns.slowdb import payload

SLICES = 20  # points on the over-time charts
HIST_EDGES_MS = (0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

Progress = Callable[[dict], None]  # told {"elapsed": s, "ops": n} about once a second


def percentiles(samples: list[float]) -> dict[str, float]:
    """Nearest-rank p50/p95/p99 in milliseconds, rounded to 0.001 ms."""
    if not samples:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    ordered = sorted(samples)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 3)

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99)}


def histogram(samples: list[float]) -> list[dict]:
    """Counts per latency bucket; `le` None is the overflow bucket."""
    counts = [0] * (len(HIST_EDGES_MS) + 1)
    for sample in samples:
        counts[bisect.bisect_left(HIST_EDGES_MS, sample)] += 1
    edges: list[float | None] = [*HIST_EDGES_MS, None]
    return [{"le": edge, "count": n} for edge, n in zip(edges, counts, strict=True)]


def encode_value(version: int, key: int) -> str:
    return f"{version}|{payload(key, version)}"


def value_version(raw: bytes | None) -> int | None:
    """The version a cached value holds; None for a miss or a value we did not write."""
    if raw is None:
        return None
    head, _, _ = raw.partition(b"|")
    return int(head) if head.isdigit() else None
