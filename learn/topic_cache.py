"""Cache-aside for the pages every learner reads: the topic list and topic pages.

Entries live in the app Redis under a version number; editing any topic bumps
the version, so every page is re-rendered from the database once and stale
copies simply age out. A repeat view costs two Redis reads and no SQL query.
When Redis is away, pages come straight from the database.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable

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
# Hits and misses of the page cache, per day (shown on /inside/). Lookups only
# tally them in memory; the view writes the tally in the one round trip it
# makes anyway (learn/inside.py), so counting costs no extra trip per lookup.
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


def queue_counts(pipe) -> None:
    """Add the pending hit and miss counts to a Redis pipeline the caller executes."""
    counts = take_counts()
    if counts:
        key = stats_key()
        for field, amount in counts.items():
            pipe.hincrby(key, field, amount)
        pipe.expire(key, STATS_TTL)


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
    _memo.update(version=version, until=time.monotonic() + VERSION_MEMO_SECONDS)


def published_topics() -> list[Topic]:
    version = _version()
    key = f"topics:list:{version}"
    topics = cache.get(key) if version else None
    if topics is None:
        topics = list(Topic.objects.published().defer("body"))
        if version:
            cache.set(key, topics, TIMEOUT)
    return topics


def normalise_line(line: str) -> str:
    """Compare command lines by their words: spacing is not part of a command."""
    return " ".join(line.split())


def topic_examples() -> dict[str, list[str]]:
    """Each published topic's runnable example lines, spacing normalised."""
    version = _version()
    key = f"topics:examples:{version}"
    examples = cache.get(key) if version else None
    if examples is None:
        examples = {
            slug: [
                normalise_line(line)
                for block in REDIS_BLOCK.findall(body)
                for line in block.splitlines()
                if line.strip()
            ]
            for slug, body in Topic.objects.published().values_list("slug", "body")
        }
        if version:
            cache.set(key, examples, TIMEOUT)
    return examples


def topic_page(slug: str) -> dict | None:
    """The published topic with its rendered body and neighbours, or None."""
    version = _version()
    key = f"topics:page:{version}:{slug}"
    page = cache.get(key) if version else None
    if version:
        _count(hit=page is not None)
    if page is None:
        topic = Topic.objects.published().filter(slug=slug).first()
        if topic is None:
            return None
        previous, following = topic.neighbours()
        # The article is the same for every learner: render it once, here, from
        # sanitised parts.
        context = {"topic": topic, "rendered": topic.rendered()}
        article = mark_safe(render_to_string("learn/topic.html#article", context))
        page = {"topic": topic, "article_html": article, "previous": previous, "next": following}
        if version:
            cache.set(key, page, TIMEOUT)
    return page


def shared_html(variant: str, render: Callable[[], str]) -> str:
    """A whole page as every learner in the same state sees it (CSRF token aside)."""
    version = _version()
    key = f"topics:html:{version}:{variant}"
    html = cache.get(key) if version else None
    if version:
        _count(hit=html is not None)
    if html is None:
        html = render()
        if version:
            cache.set(key, html, TIMEOUT)
    return html
