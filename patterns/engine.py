"""The bench engine: run one caching pattern for real.

Plain Python over two parts it is handed: a `SlowDatabase` (the truth, slow on
purpose) and a `BenchCache` (the learner's namespace on the sandbox server).
Nothing is computed from a model: every figure is counted as it happens.

- A *pattern run* is one client doing a seeded sequence of reads and writes
  for `seconds`. One client keeps the sequence reproducible from the seed and
  the figures free of races between the bench's own writers; write-behind adds
  its flush worker, a second thread, exactly as an application would.
- A read is *stale* when it returns a version older than the last write the
  application had acknowledged when the read began. For every pattern but
  write-behind that acknowledged write is the database row; write-behind
  acknowledges once the write is in Redis and queued, so its truth is the cache.

The stampede run lives in `stampede.py`; what both share (the cached value's
format, percentiles and histograms) in `measure.py`.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from patterns.cache import BenchCache
from patterns.measure import (
    SLICES,
    Progress,
    encode_value,
    histogram,
    percentiles,
    value_version,
)
from patterns.slowdb import SlowDatabase

PATTERNS = {
    "lazy": "Lazy loading, no invalidation",
    "lazy-ttl": "Lazy loading with a TTL",
    "lazy-delete": "Lazy loading, delete on write",
    "write-through": "Write-through",
    "write-through-ttl": "Write-through with a TTL",
    "write-behind": "Write-behind (queued writes, flushed by a worker)",
}
WITH_TTL = {"lazy-ttl", "write-through-ttl"}
MAX_OPS = 200_000  # a CPU bound for a zero-latency run, far above what a run reaches
FLUSH_BATCH = 100
FLUSH_IDLE_S = 0.02
DRAIN_S = 10.0  # how long write-behind's worker may take to empty the queue at the end


@dataclass(frozen=True)
class Workload:
    pattern: str = "lazy"
    keys: int = 100
    read_ratio: float = 0.9
    skew: float = 0.0  # 0: uniform; above 0: Zipf exponent (1 is classic Zipf)
    ttl: float = 5.0  # seconds, for the -ttl patterns
    jitter: float = 0.0  # seconds added at random to each TTL, 0..jitter
    db_latency_ms: float = 5.0
    seconds: float = 5.0
    seed: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


def _key_picker(rng: random.Random, keys: int, skew: float) -> Callable[[], int]:
    if skew <= 0:
        return lambda: rng.randrange(keys)
    weights = list(itertools.accumulate(1 / (rank + 1) ** skew for rank in range(keys)))
    population = range(keys)
    return lambda: rng.choices(population, cum_weights=weights)[0]


@dataclass
class _Slice:
    reads: int = 0
    hits: int = 0
    stale: int = 0
    db_reads: int = 0
    at_risk: int = 0


@dataclass
class _Tally:
    seconds: float
    started: float = field(default_factory=time.monotonic)
    reads: int = 0
    writes: int = 0
    hits: int = 0
    misses: int = 0
    stale: int = 0
    read_ms: list[float] = field(default_factory=list)
    write_ms: list[float] = field(default_factory=list)
    at_risk_max: int = 0

    def __post_init__(self) -> None:
        self.slice_s = self.seconds / SLICES
        self.slices = [_Slice() for _ in range(SLICES)]

    def slice(self) -> _Slice:
        index = int((time.monotonic() - self.started) / self.slice_s)
        return self.slices[min(max(index, 0), SLICES - 1)]


class _WriteBehind:
    """The flush worker: pops queued writes from Redis, writes them in batches."""

    QUEUE = "queue"

    def __init__(self, cache: BenchCache, db: SlowDatabase) -> None:
        self.cache, self.db = cache, db
        self.lock = threading.Lock()
        self.in_flight = 0
        self.stop = threading.Event()
        self.drain_by = math.inf
        self.thread = threading.Thread(target=self._run, name="bench-flush", daemon=True)
        self.error: Exception | None = None

    def enqueue(self, key: int, version: int) -> int:
        """Queue a write; return the writes at risk right after (queue + in flight)."""
        with self.lock:
            return self.cache.push(self.QUEUE, f"{key}:{version}") + self.in_flight

    def at_risk(self) -> int:
        with self.lock:
            return self.cache.length(self.QUEUE) + self.in_flight

    def _run(self) -> None:
        try:
            while time.monotonic() < self.drain_by:
                with self.lock:
                    entries = self.cache.pop_many(self.QUEUE, FLUSH_BATCH)
                    self.in_flight = len(entries)
                if entries:
                    self.db.write_many(self._latest(entries).items())
                    with self.lock:
                        self.in_flight = 0
                elif self.stop.is_set():
                    return
                else:
                    self.stop.wait(FLUSH_IDLE_S)
        except Exception as exc:  # reported by the run, not lost in a thread
            self.error = exc

    def _latest(self, entries: list[bytes]) -> dict[int, int]:
        """Coalesce: one row write per key, its newest version. Strict parsing:
        the learner can push to this list from their sandbox."""
        latest: dict[int, int] = {}
        for entry in entries:
            key, _, version = entry.partition(b":")
            if key.isdigit() and version.isdigit() and int(key) < self.db.keys:
                k, v = int(key), int(version)
                latest[k] = max(v, latest.get(k, 0))
        return latest

    def finish(self) -> None:
        self.drain_by = time.monotonic() + DRAIN_S
        self.stop.set()
        self.thread.join(DRAIN_S + 5)


def run_pattern(
    workload: Workload, cache: BenchCache, db: SlowDatabase, progress: Progress | None = None
) -> dict:
    """Run the workload for its seconds; return the measured result."""
    rng = random.Random(workload.seed)
    pick = _key_picker(rng, workload.keys, workload.skew)
    truth = [1] * workload.keys  # the last acknowledged version of each key
    pattern = workload.pattern
    ttl_s = workload.ttl if pattern in WITH_TTL else 0.0

    def ttl_ms() -> int | None:
        if not ttl_s:
            return None
        return int((ttl_s + rng.uniform(0, workload.jitter)) * 1000)

    behind = _WriteBehind(cache, db) if pattern == "write-behind" else None
    if behind:
        behind.thread.start()
    tally = _Tally(workload.seconds)
    deadline = tally.started + workload.seconds
    next_report = tally.started + 1.0
    ops = 0
    while ops < MAX_OPS and (now := time.monotonic()) < deadline:
        ops += 1
        key = pick()
        bucket = tally.slice()
        if rng.random() < workload.read_ratio:
            begun = time.perf_counter()
            known = truth[key]
            version = value_version(cache.get(f"item:{key}"))
            hit = version is not None
            if not hit:
                row = db.read(key)
                bucket.db_reads += 1
                version = row.version
                cache.set(f"item:{key}", encode_value(version, key), ttl_ms())
            tally.read_ms.append((time.perf_counter() - begun) * 1000)
            tally.reads += 1
            bucket.reads += 1
            tally.hits += hit
            tally.misses += not hit
            bucket.hits += hit
            if version < known:
                tally.stale += 1
                bucket.stale += 1
        else:
            begun = time.perf_counter()
            version = truth[key] + 1
            if behind:
                cache.set(f"item:{key}", encode_value(version, key))
                risk = behind.enqueue(key, version)
                tally.at_risk_max = max(tally.at_risk_max, risk)
                bucket.at_risk = max(bucket.at_risk, risk)
            else:
                db.write(key, version)
                if pattern == "lazy-delete":
                    cache.delete(f"item:{key}")
                elif pattern.startswith("write-through"):
                    cache.set(f"item:{key}", encode_value(version, key), ttl_ms())
            truth[key] = version
            tally.write_ms.append((time.perf_counter() - begun) * 1000)
            tally.writes += 1
        if progress and now >= next_report:
            next_report = now + 1.0
            progress({"elapsed": round(now - tally.started, 1), "ops": ops})
    elapsed = time.monotonic() - tally.started
    redis_bytes, redis_keys = cache.memory(cache.made())
    at_risk_at_stop = at_risk_end = 0
    if behind:
        at_risk_at_stop = behind.at_risk()
        behind.finish()
        if behind.error:
            raise behind.error
        at_risk_end = behind.at_risk()
    return {
        "reads": tally.reads,
        "writes": tally.writes,
        "hits": tally.hits,
        "misses": tally.misses,
        "hit_ratio": round(tally.hits / tally.reads, 4) if tally.reads else 0.0,
        "stale_reads": tally.stale,
        "db_reads": db.reads,
        "db_writes": db.writes,
        "read_ms": percentiles(tally.read_ms),
        "write_ms": percentiles(tally.write_ms),
        "writes_at_risk_max": tally.at_risk_max,
        "writes_at_risk_end": at_risk_end,
        "redis_bytes": redis_bytes,
        # Beyond the JSON contract: for the page's charts and the comparison.
        "extra": {
            "elapsed_s": round(elapsed, 2),
            "writes_at_risk_at_stop": at_risk_at_stop,
            "redis_keys": redis_keys,
            "db_write_batches": db.write_statements,
            "slice_s": round(tally.slice_s, 3),
            "slices": [asdict(s) for s in tally.slices],
            "read_hist": histogram(tally.read_ms),
            "write_hist": histogram(tally.write_ms),
        },
    }
