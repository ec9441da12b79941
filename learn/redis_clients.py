"""The one place Redis clients are built, lazily, one per role.

- app: the site's own Redis (sessions, caches, leaderboards). A Redis Cluster
  client when REDIS_CLUSTER is on; multi-key commands then need keys sharing
  a {hash tag} (config/redis_config.py).
- sandbox: the server learners type into. Never the same server as app.

Every client has socket timeouts so a dead server fails a request quickly.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import redis
from django.conf import settings

from config.redis_config import APP_REDIS_DOWN, AppRedisCluster, cluster_client, redis_options
from learn.sandbox.policy import Limits
from learn.sandbox.runner import Sandbox


def _client(url: str, ca_cert: str) -> redis.Redis:
    options = redis_options(url, settings.REDIS_SOCKET_TIMEOUT, ca_cert)
    return redis.Redis.from_url(url, health_check_interval=30, **options)


class LazyCluster:
    """The app's cluster client, connected on first use.

    redis.Redis connects when it first sends a command, so building one never
    fails; a RedisCluster discovers its shards as it is built, and would fail
    there when the cluster is down. This keeps the first contract: getting the
    client never raises, a command does, where callers handle outages.
    """

    def __init__(self, build: Callable[[], AppRedisCluster]) -> None:
        self._build = build
        self._client: AppRedisCluster | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> AppRedisCluster:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def close(self) -> None:
        """Close every node's connections, if it ever connected."""
        if self._client is not None:
            self._client.close()


@cache
def app_redis() -> redis.Redis | LazyCluster:
    if settings.REDIS_CLUSTER:
        options = redis_options(
            settings.REDIS_URL, settings.REDIS_SOCKET_TIMEOUT, settings.REDIS_CA_CERT
        )
        return LazyCluster(lambda: cluster_client(settings.REDIS_URL, **options))
    return _client(settings.REDIS_URL, settings.REDIS_CA_CERT)


@cache
def sandbox_admin_redis() -> redis.Redis:
    """The sandbox server as the URL's user (health checks; never learner input)."""
    return _client(settings.SANDBOX_REDIS_URL, settings.SANDBOX_REDIS_CA_CERT)


@cache
def sandbox() -> Sandbox:
    """The sandbox engine, talking to the sandbox server as its restricted user."""
    # The restricted user's password is derived, so every app instance agrees
    # on it without sharing state.
    password = hmac.new(settings.SECRET_KEY.encode(), b"sandbox-user", hashlib.sha256)
    return Sandbox(
        settings.SANDBOX_REDIS_URL,
        app_redis(),
        password=password.hexdigest(),
        manage_acl=settings.SANDBOX_MANAGE_ACL,
        limits=Limits(burst=settings.SANDBOX_BURST, rate=settings.SANDBOX_RATE),
        socket_timeout=max(settings.REDIS_SOCKET_TIMEOUT, 1.0),
        ssl_ca_certs=settings.SANDBOX_REDIS_CA_CERT,
        app_down=APP_REDIS_DOWN,
    )


def reset_clients() -> None:
    """Forget built clients (tests that point settings at another server)."""
    if app_redis.cache_info().currsize and isinstance(app_redis(), LazyCluster):
        app_redis().close()  # a pool per node: not left for the garbage collector
    app_redis.cache_clear()
    sandbox_admin_redis.cache_clear()
    sandbox.cache_clear()
