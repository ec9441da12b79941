"""Cache-aside for the pages every learner reads: the topic list and topic pages.

Entries live in the app Redis under a version number; editing any topic bumps
the version, so every page is re-rendered from the database once and stale
copies simply age out. A repeat view costs no Redis read (this process's memo) and no SQL query.
When Redis is away, pages come straight from the database.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from learn.markdown import REDIS_BLOCK
from learn.models import Topic

VERSION_KEY = "topics:version"
# Stands in for the learner's CSRF token in pages cached for everyone.
CSRF_PLACEHOLDER = "cachelab-csrf-placeholder-0b7e"
TIMEOUT = 60 * 60 * 24
# Each process remembers the version for a second, saving a Redis round trip
# per page; an edit made through another process shows within that second.
VERSION_MEMO_SECONDS = 1.0
_memo: dict[str, object] = {"version": None, "until": 0.0}
# Values this process has already fetched or built, by versioned key.
_near: dict[str, object] = {}
NEAR_MAX = 128
T = TypeVar("T")
# Hits and misses of the page cache, per day (shown on /inside/). Lookups only
# tally them in memory; learn/inside.py batches the tallies of many requests
# into one write, so counting costs no round trip per lookup.
STATS_KEY = "cachelab:stats:pagecache:{day}"
STATS_TTL = 3 * 24 * 60 * 60
_tally = threading.local()


def _count(hit: bool) -> None:
    counts = getattr(_tally, "counts", None)
    if counts is None:
        counts = _tally.counts = Counter()
    counts["hit" if hit else "miss"] += 1


def take_counts() -> Counter:
    """This thread's page-cache hits and misses not yet written, now forgotten."""
    counts, _tally.counts = getattr(_tally, "counts", None) or Counter(), None
    return counts


def stats_key(day: str | None = None) -> str:
    return STATS_KEY.format(day=day or timezone.now().date().isoformat())


def _version() -> str | None:
    now = time.monotonic()
    if _memo["version"] and now < _memo["until"]:
        return _memo["version"]
    version = cache.get(VERSION_KEY)
    if version is None:
        version = secrets.token_hex(4)
        if not cache.add(VERSION_KEY, version, timeout=None):
            version = cache.get(VERSION_KEY)
    _memo.update(version=version, until=now + VERSION_MEMO_SECONDS if version else 0.0)
    return version


def invalidate() -> None:
    version = secrets.token_hex(4)
    cache.set(VERSION_KEY, version, timeout=None)
    _near.clear()
    _memo.update(version=version, until=time.monotonic() + VERSION_MEMO_SECONDS)


def _cached(key: str, build: Callable[[], T | None], *, count: bool = False) -> T | None:
    """This process's memo, then the app Redis, then `build()` (None is not kept).

    The key holds the content version, so an edit makes every copy unreachable
    at once. The memo saves a Redis round trip and an unpickling per page (the
    pages are tens of KB): the values are shared between requests and threads,
    so callers must not change them.
    """
    version = _version()
    if not version:  # the app Redis is away
        return build()
    key = f"topics:{key}:{version}"
    value = _near.get(key)
    if value is None:
        value = cache.get(key)
        if count:
            _count(hit=value is not None)
        if value is None:
            value = build()
            if value is None:
                return None
            cache.set(key, value, TIMEOUT)
        if len(_near) >= NEAR_MAX:
            _near.clear()  # old versions' entries go with the rest
        _near[key] = value
    elif count:
        _count(hit=True)
    return value


def reset() -> None:
    """Forget this process's memos (tests, after they empty Redis)."""
    _near.clear()
    _memo.update(version=None, until=0.0)


def published_topics() -> list[Topic]:
    """Shared between requests: copy a topic before changing it."""
    return _cached("list", lambda: list(Topic.objects.published().defer("body")))


def normalise_line(line: str) -> str:
    """Compare command lines by their words: spacing is not part of a command."""
    return " ".join(line.split())


def topic_examples() -> dict[str, list[tuple[str, ...]]]:
    """Each published topic's runnable examples: the lines of each block, normalised."""

    def build() -> dict[str, list[tuple[str, ...]]]:
        examples = {}
        for slug, body in Topic.objects.published().values_list("slug", "body"):
            blocks = (
                tuple(normalise_line(line) for line in block.splitlines() if line.strip())
                for block in REDIS_BLOCK.findall(body)
            )
            examples[slug] = [block for block in blocks if block]
        return examples

    return _cached("examples", build)


def topic_page(slug: str) -> dict | None:
    """The published topic with its rendered body and neighbours, or None."""

    def build() -> dict | None:
        topic = Topic.objects.published().filter(slug=slug).first()
        if topic is None:
            return None
        previous, following = topic.neighbours()
        # The article is the same for every learner: render it once, here, from
        # sanitised parts.
        context = {"topic": topic, "rendered": topic.rendered()}
        article = mark_safe(render_to_string("learn/topic.html#article", context))
        return {"topic": topic, "article_html": article, "previous": previous, "next": following}

    return _cached(f"page:{slug}", build, count=True)


def shared_html(variant: str, render: Callable[[], str]) -> str:
    """A whole page as every learner in the same state sees it (CSRF token aside)."""
    return _cached(f"html:{variant}", render, count=True)
