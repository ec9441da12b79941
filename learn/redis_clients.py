"""The one place Redis clients are built, lazily, one per role.

- app: the site's own Redis (sessions, caches, leaderboards).
- sandbox: the server learners type into. Never the same server as app.

Every client has socket timeouts so a dead server fails a request quickly.
"""

from functools import cache

import redis
from django.conf import settings


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        health_check_interval=30,
    )


@cache
def app_redis() -> redis.Redis:
    return _client(settings.REDIS_URL)


@cache
def sandbox_admin_redis() -> redis.Redis:
    """The sandbox server as the URL's user: bookkeeping, never learner input."""
    return _client(settings.SANDBOX_REDIS_URL)


def reset_clients() -> None:
    """Forget built clients (tests that point settings at another server)."""
    app_redis.cache_clear()
    sandbox_admin_redis.cache_clear()
