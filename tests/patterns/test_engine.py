"""The engine on the real sandbox server and a real slow database, fixed seeds."""

import pytest

from patterns.engine import Workload, run_pattern
from patterns.stampede import Stampede, run_stampede
from tests.patterns.conftest import run_keys

pytestmark = pytest.mark.redis

WRITE_HEAVY = {"keys": 20, "read_ratio": 0.7, "db_latency_ms": 0.5, "seconds": 1.0, "seed": 7}


def info_stats(client) -> tuple[int, int]:
    stats = client.info("stats")
    return stats["keyspace_hits"], stats["keyspace_misses"]


class TestStaleReads:
    def test_write_through_reports_no_stale_reads(self, bench_cache, slow_db):
        result = run_pattern(Workload("write-through", **WRITE_HEAVY), bench_cache, slow_db(20))

        assert result["writes"] > 50
        assert result["stale_reads"] == 0

    def test_lazy_loading_without_invalidation_reports_stale_reads_under_writes(
        self, bench_cache, slow_db
    ):
        result = run_pattern(Workload("lazy", **WRITE_HEAVY), bench_cache, slow_db(20))

        assert result["stale_reads"] > 0
        assert result["hit_ratio"] > 0.5

    def test_delete_on_write_serves_no_stale_reads(self, bench_cache, slow_db):
        result = run_pattern(Workload("lazy-delete", **WRITE_HEAVY), bench_cache, slow_db(20))

        assert result["stale_reads"] == 0


class TestCountedByTheServers:
    @pytest.mark.parametrize("pattern", ["lazy", "lazy-ttl", "write-through-ttl", "write-behind"])
    def test_every_miss_is_one_database_read_counted_by_the_database(
        self, bench_cache, slow_db, pattern
    ):
        db = slow_db(20)
        workload = Workload(pattern, ttl=0.2, jitter=0.1, **WRITE_HEAVY)

        result = run_pattern(workload, bench_cache, db)

        assert result["misses"] > 0
        assert db.reads == result["misses"] == result["db_reads"]
        assert result["hits"] + result["misses"] == result["reads"]

    def test_the_servers_own_hit_and_miss_counters_agree(self, bench_cache, slow_db, sandbox_redis):
        hits_before, misses_before = info_stats(sandbox_redis)

        result = run_pattern(Workload("lazy", **WRITE_HEAVY), bench_cache, slow_db(20))

        hits, misses = info_stats(sandbox_redis)
        assert hits - hits_before == result["hits"]
        assert misses - misses_before == result["misses"]

    def test_redis_bytes_is_what_memory_usage_says_of_the_runs_keys(
        self, bench_cache, slow_db, sandbox_redis
    ):
        result = run_pattern(Workload("lazy", **WRITE_HEAVY), bench_cache, slow_db(20))

        keys = run_keys(sandbox_redis, bench_cache)
        assert len(keys) == result["extra"]["redis_keys"] > 0
        assert result["redis_bytes"] == sum(sandbox_redis.memory_usage(k, samples=0) for k in keys)

    def test_database_writes_are_the_rows_the_database_changed(self, bench_cache, slow_db):
        db = slow_db(20)

        result = run_pattern(Workload("write-through", **WRITE_HEAVY), bench_cache, db)

        assert db.writes == result["writes"] == result["db_writes"]
        assert sum(v - 1 for v in db.versions().values()) == result["writes"]


class TestWriteBehind:
    def test_writes_at_risk_drain_to_zero_after_the_flush(self, bench_cache, slow_db):
        db = slow_db(20, latency_ms=5)
        workload = Workload("write-behind", **{**WRITE_HEAVY, "read_ratio": 0.3})

        result = run_pattern(workload, bench_cache, db)

        assert result["writes_at_risk_max"] > 0
        assert result["writes_at_risk_end"] == 0
        assert bench_cache.length("queue") == 0

    def test_the_database_ends_with_every_acknowledged_write(self, bench_cache, slow_db):
        db = slow_db(20, latency_ms=5)
        workload = Workload("write-behind", **{**WRITE_HEAVY, "read_ratio": 0.3})

        result = run_pattern(workload, bench_cache, db)

        # Coalescing writes several versions of a key as one row write.
        assert sum(v - 1 for v in db.versions().values()) == result["writes"]
        assert result["db_writes"] <= result["writes"]
        assert result["stale_reads"] == 0

    def test_a_hostile_queue_entry_is_dropped(self, bench_cache, slow_db):
        db = slow_db(5)
        bench_cache.push("queue", "999999:5")
        bench_cache.push("queue", "not a write")
        workload = Workload("write-behind", keys=5, read_ratio=1.0, seconds=0.3, seed=1)

        result = run_pattern(workload, bench_cache, db)

        assert result["writes_at_risk_end"] == 0
        assert set(db.versions().values()) == {1}


class TestStampede:
    DEMO = {"keys": 1, "readers": 8, "ttl": 0.4, "db_latency_ms": 40, "seconds": 1.3, "seed": 3}

    def test_without_protection_the_herd_hits_the_database_harder_than_with_a_lock(
        self, sandbox, learner_id, slow_db
    ):
        from learn.sandbox_views import namespace_of
        from patterns.cache import BenchCache

        results = {}
        for protection in ("none", "lock"):
            cache = BenchCache(sandbox, namespace_of(learner_id), protection)
            db = slow_db(1, latency_ms=40)
            results[protection] = run_stampede(Stampede(protection, **self.DEMO), cache, db)
            cache.cleanup()
            assert db.reads == results[protection]["db_reads"]

        assert results["none"]["db_reads_at_expiry"] >= 5
        assert results["lock"]["db_reads_at_expiry"] <= 2
        assert results["none"]["db_reads_at_expiry"] > results["lock"]["db_reads_at_expiry"]
