import pytest
import redis
from django.conf import settings

from learn.sandbox.namespace import Namespace


@pytest.fixture
def alice() -> Namespace:
    return Namespace("alice0000000000000000000")


@pytest.fixture
def bob() -> Namespace:
    return Namespace("bob000000000000000000000")


@pytest.fixture
def server_snapshot(sandbox_redis: redis.Redis):
    """Every key on the sandbox server outside a namespace, with type and value dump."""

    def snapshot(outside: Namespace) -> dict[bytes, tuple]:
        state = {}
        for key in sandbox_redis.scan_iter(count=1000):
            if key.startswith(outside.prefix):
                continue
            state[key] = (sandbox_redis.type(key), sandbox_redis.dump(key), sandbox_redis.ttl(key))
        return state

    return snapshot


@pytest.fixture
def run(sandbox):
    """run(namespace, line) -> the reply text, for terse tests."""

    def run_line(namespace: Namespace, line: str) -> str:
        return sandbox.run(namespace, line).reply

    return run_line


@pytest.fixture
def app_keys():
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield lambda: sorted(client.scan_iter(count=1000))
    client.close()
