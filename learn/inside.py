"""Inside CacheLab: how the site uses its own Redis, read live for /inside/.

Each panel is one pattern a topic teaches, seen working here: the session
store, cache-aside pages, leaderboards in sorted sets, rate-limit buckets that
expire by themselves, and distinct visitors counted with HyperLogLog.

Reading is read-only and bounded: SCAN (never KEYS) with a cap on keys, TTLs
and sizes only (never a session's contents), single-key commands in
non-transactional pipelines (so a cluster serves them too), and the result is
cached for a few seconds, since anyone may load the page.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from django.core.cache import cache
from django.http import HttpResponse
from django.utils import timezone

from config.redis_config import APP_REDIS_DOWN as DOWN
from learn.http import client_ip
from learn.middleware import known_learner_id
from learn.models import Throttle
from learn.redis_clients import app_redis
from learn.sandbox.namespace import Namespace
from learn.sandbox.runner import book_key
from learn.topic_cache import STATS_TTL, published_topics, stats_key, take_counts

SNAPSHOT_KEY = "inside:snapshot"
SNAPSHOT_SECONDS = 5
# Keys SCAN walks at most; beyond it the page says "at least".
SCAN_CAP = 50_000
MAX_BOARDS = 50
VISITORS_KEY = "cachelab:visitors:{slug}:{day}"
VISITORS_TTL = 2 * 24 * 60 * 60
# The keys each panel counts, as glob patterns.
PATTERNS = {
    "sessions": "cachelab:session:*",
    # Every learner's sandbox token bucket ("*" stands for any learner).
    "rate_limits": book_key(Namespace("*"), "rate"),
    # The boards themselves: not a rebuild's temporary keys, its marker or lock.
    "boards": "cachelab:board:{*}",
}
# (upper bound in seconds, label) for the TTL histograms.
TTL_BUCKETS = [
    (60, "under a minute"),
    (60 * 60, "a minute to an hour"),
    (24 * 60 * 60, "an hour to a day"),
    (7 * 24 * 60 * 60, "a day to a week"),
    (None, "over a week"),
]


@dataclass(frozen=True)
class Lesson:
    """The topic section that teaches what a panel shows."""

    slug: str
    anchor: str
    title: str


LESSONS = {
    "sessions": Lesson("caching-patterns", "the-session-store", "The session store"),
    "page_cache": Lesson("caching-patterns", "lazy-loading", "Lazy loading (cache-aside)"),
    # What the hit ratio tells an operator, and which CloudWatch metric is it.
    "hit_rate": Lesson("monitoring", "cache-hit-rate", "Watching the cache hit rate"),
    "boards": Lesson("use-cases", "leaderboards-with-sorted-sets", "Leaderboards with sorted sets"),
    # No topic teaches rate limiting itself; a bucket is a key that cleans
    # itself up through its TTL, which this section does.
    "rate_limits": Lesson(
        "caching-patterns", "combining-the-two-with-ttls", "Keys that expire by themselves (TTLs)"
    ),
    "visitors": Lesson(
        "use-cases",
        "counting-unique-visitors-with-hyperloglog",
        "Counting unique visitors with HyperLogLog",
    ),
}


def duration(seconds: int | None) -> str:
    """A TTL as people say it: "45 s", "12 min", "3 h", "29 days"; None: no expiry."""
    if seconds is None:
        return "no expiry"
    for size, unit in ((86400, " days"), (3600, " h"), (60, " min")):
        if seconds >= size * 2 or (size == 60 and seconds >= 60):
            return f"{seconds // size}{unit}"
    return f"{seconds} s"


@dataclass(frozen=True)
class KeyGroup:
    """Keys matching one pattern: how many, and how long they have left."""

    count: int
    capped: bool  # more keys than SCAN_CAP: count is a lower bound
    ttls: list[tuple[str, int]]  # histogram rows: (label, keys)
    no_expiry: int
    longest_ttl: int | None

    @property
    def longest(self) -> str:
        return duration(self.longest_ttl)


@dataclass(frozen=True)
class BoardKey:
    name: str
    members: int
    ttl: int | None  # seconds; None: no expiry

    @property
    def expires_in(self) -> str:
        return duration(self.ttl)


@dataclass(frozen=True)
class Visitors:
    slug: str
    title: str
    count: int


@dataclass(frozen=True)
class Snapshot:
    taken_at: datetime
    sessions: KeyGroup
    hits: int
    misses: int
    boards: list[BoardKey]
    rate_limits: KeyGroup
    # How many user names have failed log-ins counting (rows in the database,
    # where no eviction reaches them). A count only: how long a pause has
    # left would tell a guesser when to come back.
    login_throttles: int
    visitors: list[Visitors]

    @property
    def hit_percent(self) -> int | None:
        lookups = self.hits + self.misses
        return round(100 * self.hits / lookups) if lookups else None


# -- writing: the cost a page view pays ------------------------------------
def visitors_key(slug: str, day: str | None = None) -> str:
    return VISITORS_KEY.format(slug=slug, day=day or timezone.now().date().isoformat())


class _Pending:
    """Statistics waiting in this process for their one write to Redis.

    Counting is not on a page's critical path: views add to these in memory,
    and the first request after FLUSH_SECONDS sends them all in one pipeline
    (HINCRBY the day's hits and misses, PFADD each topic's visitors). /inside/
    reads a snapshot up to SNAPSHOT_SECONDS old anyway; a process's counts
    reach it within FLUSH_SECONDS more (its own process flushes first).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.counts: Counter = Counter()
        self.visitors: dict[str, set[str]] = {}
        self.members = 0
        self.since = time.monotonic()

    def take(self) -> tuple[Counter, dict[str, set[str]]]:
        taken = self.counts, self.visitors
        self.reset()
        return taken


_pending = _Pending()
FLUSH_SECONDS = 1.0
# Members waiting at most: beyond it the next request flushes, whatever the time.
FLUSH_MEMBERS = 5000


def _write(slug: str | None = None, learner: str | None = None) -> None:
    """Add this request's counts (and a visitor) to the pending ones; flush if due."""
    counts = take_counts()
    with _pending.lock:
        _pending.counts.update(counts)
        if slug and learner:
            _pending.visitors.setdefault(visitors_key(slug), set()).add(learner)
            _pending.members += 1
        due = (
            time.monotonic() - _pending.since >= FLUSH_SECONDS or _pending.members >= FLUSH_MEMBERS
        )
    if due:
        flush()


def flush() -> None:
    """Send every pending count and visitor in one round trip (statistics only:
    a failure costs counts, never a page)."""
    with _pending.lock:
        counts, visitors = _pending.take()
    if not counts and not visitors:
        return
    with contextlib.suppress(*DOWN):
        pipe = app_redis().pipeline(transaction=False)
        if counts:
            key = stats_key()
            for field, amount in counts.items():
                pipe.hincrby(key, field, amount)
            pipe.expire(key, STATS_TTL)
        for key, members in visitors.items():
            pipe.pfadd(key, *members).expire(key, VISITORS_TTL)
        pipe.execute()


def forget_pending() -> None:
    """Drop what this process has not written yet (tests, after they empty Redis)."""
    with _pending.lock:
        _pending.reset()


def counts_page_cache(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Write the page-cache hits and misses of the view's lookups after it answers."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        _write()
        return response

    return wrapper


def counts_visitors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Also add the learner to the topic's distinct visitors of the day (PFADD).

    For views taking the topic's `slug`; only pages served (200) count.
    """

    @functools.wraps(view)
    def wrapper(request, slug: str, *args, **kwargs) -> HttpResponse:
        response = view(request, slug, *args, **kwargs)
        # A reader without a session has no lasting id: count their address
        # (hashed into the HyperLogLog, never stored) so rereading a page does
        # not count them again.
        learner = known_learner_id(request) or f"address:{client_ip(request)}"
        _write(slug if response.status_code == 200 else None, learner)
        return response

    return wrapper


# -- reading: the page -------------------------------------------------------
def _scan(client) -> tuple[dict[str, list[bytes]], bool]:
    """The keys of each group, from one SCAN pass over the site's keys.

    One pass rather than one per pattern: SCAN walks the whole keyspace
    whatever it matches. True: it stopped at SCAN_CAP keys, so counts are
    lower bounds.
    """
    groups: dict[str, list[bytes]] = {group: [] for group in PATTERNS}
    for examined, key in enumerate(client.scan_iter(match="cachelab:*", count=1000)):
        if examined == SCAN_CAP:
            return groups, True
        name = key.decode(errors="replace")
        group = next((g for g, pattern in PATTERNS.items() if fnmatchcase(name, pattern)), None)
        if group:
            groups[group].append(key)
    return groups, False


def _ttls(client, keys: list[bytes]) -> list[int]:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.ttl(key)
    return pipe.execute() if keys else []


def _group(client, keys: list[bytes], capped: bool) -> KeyGroup:
    # -2: the key expired between SCAN and TTL; it is gone, so not counted.
    ttls = [ttl for ttl in _ttls(client, keys) if ttl != -2]
    living = [ttl for ttl in ttls if ttl >= 0]
    rows, lower = [], 0
    for upper, label in TTL_BUCKETS:
        rows.append((label, sum(1 for t in living if lower <= t and (upper is None or t < upper))))
        lower = upper or lower
    return KeyGroup(len(ttls), capped, rows, len(ttls) - len(living), max(living, default=None))


def _boards(client, keys: list[bytes]) -> list[BoardKey]:
    keys = sorted(keys)[:MAX_BOARDS]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.zcard(key).ttl(key)
    replies = pipe.execute() if keys else []
    boards = []
    for key, members, ttl in zip(keys, replies[::2], replies[1::2], strict=True):
        if ttl != -2:
            boards.append(BoardKey(key.decode(), members, ttl if ttl >= 0 else None))
    return boards


def _read() -> Snapshot:
    flush()  # this process's own counts, at least, are in
    client = app_redis()
    topics = published_topics()
    pipe = client.pipeline(transaction=False)
    pipe.hmget(stats_key(), ["hit", "miss"])
    for topic in topics:
        # Sent raw: redis-py's cluster pipelines refuse PFCOUNT, which may name
        # several keys; with one key it is routed like any other command.
        pipe.execute_command("PFCOUNT", visitors_key(topic.slug))
    (hits, misses), *counts = pipe.execute()
    keys, capped = _scan(client)
    return Snapshot(
        taken_at=timezone.now(),
        sessions=_group(client, keys["sessions"], capped),
        hits=int(hits or 0),
        misses=int(misses or 0),
        boards=_boards(client, keys["boards"]),
        rate_limits=_group(client, keys["rate_limits"], capped),
        login_throttles=Throttle.objects.filter(
            key__startswith="login-account:", expires_at__gt=timezone.now()
        ).count(),
        visitors=[Visitors(t.slug, t.title, n) for t, n in zip(topics, counts, strict=True)],
    )


def snapshot() -> Snapshot:
    """What /inside/ shows, at most SNAPSHOT_SECONDS old. Raises if Redis is away."""
    found = cache.get(SNAPSHOT_KEY)
    if found is None:
        found = _read()
        cache.set(SNAPSHOT_KEY, found, SNAPSHOT_SECONDS)
    return found
