"""The bench's cache on the real sandbox server: sealed values, forged ones refused."""

import uuid

import pytest

from learn.sandbox_views import namespace_of
from patterns.cache import BenchCache
from patterns.engine import Workload, run_pattern

pytestmark = pytest.mark.redis


@pytest.fixture
def sealed(sandbox, learner_id):
    cache = BenchCache(sandbox, namespace_of(learner_id), uuid.uuid4().hex[:12], seal=b"s" * 32)
    yield cache
    cache.cleanup()


def test_a_sealed_value_reads_back_as_written(sealed):
    sealed.set("item:1", "4|product")

    assert sealed.get("item:1") == b"4|product"


def test_a_value_the_learner_wrote_into_the_runs_key_reads_as_a_miss(sealed, sandbox_redis):
    sealed.set("item:1", "4|product")
    # What a learner could do from their sandbox while the run goes on.
    sandbox_redis.set(sealed.full_key("item:1"), b"999|forged")

    assert sealed.get("item:1") is None


def test_a_seal_copied_onto_another_value_does_not_fit_it(sealed, sandbox_redis):
    sealed.set("item:1", "4|product")
    mark = sandbox_redis.get(sealed.full_key("item:1")).partition(b"~")[0]
    sandbox_redis.set(sealed.full_key("item:1"), mark + b"~999|product")

    assert sealed.get("item:1") is None


def test_a_sealed_run_measures_as_an_unsealed_one(sealed, slow_db):
    workload = Workload("write-through", keys=20, read_ratio=0.8, db_latency_ms=0.5, seconds=0.5)

    result = run_pattern(workload, sealed, slow_db(20))

    assert result["stale_reads"] == 0 and result["hits"] > 0
    assert result["db_reads"] == result["misses"]
