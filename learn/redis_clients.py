"""The one place Redis clients are built, lazily, one per role.

- app: the site's own Redis (sessions, caches, leaderboards).
- sandbox: the server learners type into. Never the same server as app.

Every client has socket timeouts so a dead server fails a request quickly.
"""

import hashlib
import hmac
from functools import cache

import redis
from django.conf import settings

from config.redis_config import redis_options
from learn.sandbox.policy import Limits
from learn.sandbox.runner import Sandbox


def _client(url: str, ca_cert: str) -> redis.Redis:
    options = redis_options(url, settings.REDIS_SOCKET_TIMEOUT, ca_cert)
    return redis.Redis.from_url(url, health_check_interval=30, **options)


@cache
def app_redis() -> redis.Redis:
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
    )


def reset_clients() -> None:
    """Forget built clients (tests that point settings at another server)."""
    app_redis.cache_clear()
    sandbox_admin_redis.cache_clear()
    sandbox.cache_clear()
