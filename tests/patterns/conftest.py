import uuid

import pytest
import redis

from learn.sandbox_views import namespace_of
from patterns.cache import BenchCache
from patterns.slowdb import SlowDatabase


@pytest.fixture
def learner_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def bench_cache(sandbox, learner_id):
    """The cache a run of this learner would get; its keys deleted afterwards."""
    cache = BenchCache(sandbox, namespace_of(learner_id), uuid.uuid4().hex[:12])
    yield cache
    cache.cleanup()


@pytest.fixture
def slow_db():
    """make(keys, latency_ms): a bench database, closed (file deleted) afterwards."""
    made = []

    def make(keys: int, latency_ms: float = 0.5) -> SlowDatabase:
        db = SlowDatabase(keys, latency_ms)
        made.append(db)
        return db

    yield make
    for db in made:
        db.close()


def run_keys(sandbox_redis: redis.Redis, cache: BenchCache) -> list[bytes]:
    """Every key on the sandbox server under the run's prefix."""
    prefix = cache.full_key("")
    return [k for k in sandbox_redis.scan_iter(count=1000) if k.startswith(prefix)]
