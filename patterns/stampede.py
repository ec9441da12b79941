"""The stampede run: a few hot keys, N readers at once, and what happens at expiry.

The run warms the hot keys the way a deploy would (all at the same moment, so
their expiries line up), then lets the readers at them. When a key expires,
every reader that finds it missing goes to the database, unless the protection
says otherwise; the database's own clock of reads shows the herd as a spike.

- `jitter` spreads the TTLs, so the keys no longer expire together;
- `lock` lets one reader refill (SET NX) while the others poll the cache;
- `early` recomputes before expiry with a chance that grows as expiry nears
  (XFetch), so usually one reader refreshes the key in time.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from patterns.cache import BenchCache
from patterns.measure import (
    SLICES,
    Progress,
    encode_value,
    histogram,
    percentiles,
    value_version,
)
from patterns.slowdb import SlowDatabase, payload

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
READ_GAP_S = (0.002, 0.006)  # a stampede reader's pause between reads
EARLY_BETA = 1.0


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
            value = encode_value(version, key)
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
                hit = raw is not None and value_version(raw) is not None
                refilled = waited = False
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
        if value_version(cache.get(f"hot:{key}")) is not None:
            return False, True
    refill(rng, key)
    return True, True
