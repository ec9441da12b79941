"""The bench engine: run one caching pattern, or a stampede, for real.

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
- A *stampede run* warms a few hot keys, then lets N readers at them at once.
  When a key expires every reader that finds it missing goes to the database,
  unless the protection says otherwise; the database's own clock of reads shows
  the herd as a spike.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from patterns.cache import BenchCache
from patterns.slowdb import SlowDatabase, payload

PATTERNS = {
    "lazy": "Lazy loading, no invalidation",
    "lazy-ttl": "Lazy loading with a TTL",
    "lazy-delete": "Lazy loading, delete on write",
    "write-through": "Write-through",
    "write-through-ttl": "Write-through with a TTL",
    "write-behind": "Write-behind (queued writes, flushed by a worker)",
}
WITH_TTL = {"lazy-ttl", "write-through-ttl"}
PROTECTIONS = {
    "none": "None: plain lazy loading",
    "jitter": "TTL jitter across the hot keys",
    "lock": "A lock (SET NX) so one reader refills",
    "early": "Early recomputation (probabilistic, before expiry)",
}
PROTECTION_NAMES = {
    "none": "no protection",
    "jitter": "TTL jitter",
    "lock": "a lock",
    "early": "early recomputation",
}
SLICES = 20  # points on the over-time charts
MAX_OPS = 200_000  # a CPU bound for a zero-latency run, far above what a run reaches
HIST_EDGES_MS = (0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
FLUSH_BATCH = 100
FLUSH_IDLE_S = 0.02
DRAIN_S = 10.0  # how long write-behind's worker may take to empty the queue at the end
READ_GAP_S = (0.002, 0.006)  # a stampede reader's pause between reads
EARLY_BETA = 1.0

Progress = Callable[[dict], None]


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


@dataclass(frozen=True)
class Stampede:
    protection: str = "none"
    keys: int = 1
    readers: int = 8
    ttl: float = 1.0
    jitter: float = 0.0
    db_latency_ms: float = 50.0
    seconds: float = 3.0
    seed: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


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


def _key_picker(rng: random.Random, keys: int, skew: float) -> Callable[[], int]:
    if skew <= 0:
        return lambda: rng.randrange(keys)
    weights = list(itertools.accumulate(1 / (rank + 1) ** skew for rank in range(keys)))
    population = range(keys)
    return lambda: rng.choices(population, cum_weights=weights)[0]


def _encode(version: int, key: int) -> str:
    return f"{version}|{payload(key, version)}"


def _version(raw: bytes | None) -> int | None:
    """The version a cached value holds; None for a miss or a value we did not write."""
    if raw is None:
        return None
    head, _, _ = raw.partition(b"|")
    return int(head) if head.isdigit() else None


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
            version = _version(cache.get(f"item:{key}"))
            hit = version is not None
            if not hit:
                row = db.read(key)
                bucket.db_reads += 1
                version = row.version
                cache.set(f"item:{key}", _encode(version, key), ttl_ms())
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
                cache.set(f"item:{key}", _encode(version, key))
                risk = behind.enqueue(key, version)
                tally.at_risk_max = max(tally.at_risk_max, risk)
                bucket.at_risk = max(bucket.at_risk, risk)
            else:
                db.write(key, version)
                if pattern == "lazy-delete":
                    cache.delete(f"item:{key}")
                elif pattern.startswith("write-through"):
                    cache.set(f"item:{key}", _encode(version, key), ttl_ms())
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


def _window_peak(times: list[float], width: float) -> int:
    """The most reads that began within any `width` seconds (a sliding window)."""
    ordered, peak, start = sorted(times), 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] > width:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def _encode_early(version: int, key: int, expires_ms: float, delta_ms: float) -> str:
    return f"{version}|{int(expires_ms)}|{int(delta_ms)}|{payload(key, version)}"


def _should_refresh_early(raw: bytes, rng: random.Random) -> bool:
    """XFetch: recompute with a chance that grows as expiry nears, scaled by the
    cost of the last recomputation, so usually one reader refreshes in time."""
    parts = raw.split(b"|", 3)
    if len(parts) < 4 or not (parts[1].isdigit() and parts[2].isdigit()):
        return True
    expires_ms, delta_ms = int(parts[1]), int(parts[2])
    now_ms = time.time() * 1000
    return now_ms - delta_ms * EARLY_BETA * math.log(1 - rng.random()) >= expires_ms


class _Herd:
    """What the stampede's readers count together."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reads = self.hits = self.misses = self.refills = self.waited = 0
        self.read_ms: list[float] = []
        self.error: Exception | None = None

    def add(self, hit: bool, ms: float, refilled: bool, waited: bool) -> None:
        with self.lock:
            self.reads += 1
            self.hits += hit
            self.misses += not hit
            self.refills += refilled
            self.waited += waited
            self.read_ms.append(ms)


def run_stampede(
    demo: Stampede, cache: BenchCache, db: SlowDatabase, progress: Progress | None = None
) -> dict:
    """Warm the hot keys, let the readers at them, count database reads at expiry."""
    latency_ms = demo.db_latency_ms
    lock_ms = int(latency_ms * 4 + 200)
    warm_rng = random.Random(demo.seed)

    def ttl_ms(rng: random.Random) -> int:
        extra = rng.uniform(0, demo.jitter) if demo.protection == "jitter" else 0.0
        return int((demo.ttl + extra) * 1000)

    def store(rng: random.Random, key: int, version: int, cost_ms: float) -> None:
        life = ttl_ms(rng)
        if demo.protection == "early":
            value = _encode_early(version, key, time.time() * 1000 + life, cost_ms)
        else:
            value = _encode(version, key)
        cache.set(f"hot:{key}", value, life)

    # Warm-up as a deploy would: every hot key filled at the same moment, which
    # is what lines their expiries up (unless jittered).
    for key in range(demo.keys):
        store(warm_rng, key, 1, latency_ms)
    herd = _Herd()
    started = time.monotonic()
    deadline = started + demo.seconds

    def refill(rng: random.Random, key: int) -> None:
        begun = time.monotonic()
        row = db.read(key)
        store(rng, key, row.version, (time.monotonic() - begun) * 1000)

    def reader(index: int) -> None:
        rng = random.Random(demo.seed * 1000 + index)
        try:
            while time.monotonic() < deadline:
                key = rng.randrange(demo.keys)
                begun = time.perf_counter()
                raw = cache.get(f"hot:{key}")
                hit, refilled, waited = raw is not None and _version(raw) is not None, False, False
                if hit and demo.protection == "early" and _should_refresh_early(raw, rng):
                    refill(rng, key)
                    refilled = True
                elif not hit and demo.protection == "lock":
                    refilled, waited = _refill_under_lock(cache, rng, key, lock_ms, refill)
                elif not hit:
                    refill(rng, key)
                    refilled = True
                herd.add(hit, (time.perf_counter() - begun) * 1000, refilled, waited)
                time.sleep(rng.uniform(*READ_GAP_S))  # the reader's think time
        except Exception as exc:
            herd.error = exc

    threads = [
        threading.Thread(target=reader, args=(i,), name=f"bench-reader-{i}", daemon=True)
        for i in range(demo.readers)
    ]
    for thread in threads:
        thread.start()
    while alive := [t for t in threads if t.is_alive()]:
        alive[0].join(1.0)
        if progress:
            progress({"elapsed": round(time.monotonic() - started, 1), "ops": herd.reads})
    if herd.error:
        raise herd.error
    elapsed = time.monotonic() - started
    times = [t - started for t in db.read_times if t >= started]
    window_s = min(latency_ms + 50, demo.ttl * 500) / 1000
    slice_s = demo.seconds / (SLICES * 3)
    per_slice = [0] * (SLICES * 3)
    for moment in times:
        per_slice[min(int(moment / slice_s), len(per_slice) - 1)] += 1
    redis_bytes, redis_keys = cache.memory(cache.made())
    return {
        "reads": herd.reads,
        "writes": 0,
        "hits": herd.hits,
        "misses": herd.misses,
        "hit_ratio": round(herd.hits / herd.reads, 4) if herd.reads else 0.0,
        "stale_reads": 0,
        "db_reads": db.reads,
        "db_writes": db.writes,
        "read_ms": percentiles(herd.read_ms),
        "write_ms": percentiles([]),
        "writes_at_risk_max": 0,
        "writes_at_risk_end": 0,
        "redis_bytes": redis_bytes,
        "db_reads_at_expiry": _window_peak(times, window_s),
        "extra": {
            "elapsed_s": round(elapsed, 2),
            "redis_keys": redis_keys,
            "refills": herd.refills,
            "waited_for_lock": herd.waited,
            "window_ms": round(window_s * 1000),
            "slice_s": round(slice_s, 3),
            "db_reads_per_slice": per_slice,
            "read_hist": histogram(herd.read_ms),
        },
    }


def _refill_under_lock(
    cache: BenchCache,
    rng: random.Random,
    key: int,
    lock_ms: int,
    refill: Callable[[random.Random, int], None],
) -> tuple[bool, bool]:
    """One reader takes the lock and refills; the others poll the cache briefly.

    Returns (refilled, waited). A reader that waited out the lock's life reads
    the database itself, so a crashed lock holder cannot starve the readers.
    """
    lock = f"lock:{key}"
    if cache.set(lock, "1", lock_ms, nx=True):
        try:
            refill(rng, key)
        finally:
            cache.delete(lock)
        return True, False
    give_up = time.monotonic() + lock_ms / 1000
    while time.monotonic() < give_up:
        time.sleep(0.005)  # the poll interval of a waiting reader
        if _version(cache.get(f"hot:{key}")) is not None:
            return False, True
    refill(rng, key)
    return True, True
