"""Memcached tests run on a real memcached: the one the test run started (or
MEMCACHED_URL). Without the binary they skip and say how to get it; in CI
(`CI=true`, where .ci/run installs it) they fail instead."""

from __future__ import annotations

import os
import socket

import pytest
from django.conf import settings

from config import memcached
from config.embedded import MEMCACHED_HINT, find_memcached, start_memcached
from memcache import clients
from memcache.console.connection import Server
from memcache.console.console import Console
from memcache.console.fence import Prefix
from memcache.console.ledger import Ledger


def need_memcached() -> None:
    if settings.MEMCACHED_URL or find_memcached():
        return
    message = f"memcached not found: install it ({MEMCACHED_HINT}) or set MEMCACHED_URL"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _fresh_console():
    clients.reset()
    yield
    clients.reset()


@pytest.fixture
def server() -> Server:
    need_memcached()
    host, port = memcached.address(settings.MEMCACHED_URL)
    return Server(host, port)


def raw_exchange(server: Server, payload: bytes) -> bytes:
    """What a raw socket receives for `payload`: everything before `version`'s reply.

    A different fence from the console's own `mn`, so the two read replies
    independently."""
    with socket.create_connection((server.host, server.port), timeout=2) as sock:
        sock.sendall(payload + b"version\r\n")
        received = b""
        while not (received.endswith(b"\r\n") and b"VERSION " in received.rsplit(b"\r\n", 2)[-2]):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received[: received.rindex(b"VERSION ")]


def make_console(
    server: Server, app_redis, *, burst: int = 10_000, rate: float = 1000.0, quota=None
) -> Console:
    return Console(server, Ledger(app_redis, burst=burst, rate=rate), quota=quota)


@pytest.fixture
def console(server, app_redis) -> Console:
    return make_console(server, app_redis)


@pytest.fixture
def learner() -> Prefix:
    return clients.prefix_for("learner-a")


@pytest.fixture
def other() -> Prefix:
    return clients.prefix_for("learner-b")


@pytest.fixture
def twin_servers():
    """Two fresh memcached servers started alike: the same commands get the same cas values."""
    need_memcached()
    if not find_memcached():
        pytest.skip("the twin servers need the memcached binary on PATH")
    first, second = start_memcached(), start_memcached()
    yield Server("127.0.0.1", first.port), Server("127.0.0.1", second.port)
    first.stop()
    second.stop()
