"""The console engine, built lazily from settings (like learn.redis_clients)."""

from __future__ import annotations

import hmac
from functools import cache

from django.conf import settings

from config import memcached
from learn.redis_clients import app_redis
from memcache.console.connection import Server
from memcache.console.console import Console
from memcache.console.fence import Prefix
from memcache.console.ledger import Ledger

INSTALL = "sudo apt-get install memcached"


def configured() -> bool:
    return bool(settings.MEMCACHED_URL.strip())


@cache
def console() -> Console:
    """The console on the configured server; call only when configured()."""
    where = memcached.address(settings.MEMCACHED_URL)
    if where is None:
        raise LookupError("MEMCACHED_URL is not set")
    server = Server(*where, timeout=settings.MEMCACHED_TIMEOUT)
    # The Redis sandbox's rate, a bucket of the console's own.
    ledger = Ledger(app_redis(), burst=settings.SANDBOX_BURST, rate=settings.SANDBOX_RATE)
    return Console(server, ledger)


def prefix_for(learner_id: str) -> Prefix:
    """Derived on the server from the learner id and a secret: stable, and not the
    Redis sandbox's namespace. 16 hex digits keep the prefix to 20 of the 250 bytes."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"memcached:{learner_id}".encode(), "sha256")
    return Prefix(digest.hexdigest()[:16])


def reset() -> None:
    console.cache_clear()


__all__ = ["INSTALL", "configured", "console", "prefix_for", "reset"]
