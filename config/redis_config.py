"""Connection options shared by every Redis client the site builds, and the
client for the app Redis when it is a cluster (ElastiCache "cluster mode
enabled").

Cluster key rule: a command that names several keys (MGET, RENAME, SINTER,
PFMERGE, a MULTI/EXEC block, a Lua script) only works when they share a hash
slot, so such keys carry the same {tag}: `cachelab:sbx:{<learner>}:rate`.
Pipelines must be `transaction=False`; redis-py splits them by shard.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from redis.backoff import NoBackoff
from redis.cluster import LoadBalancingStrategy, RedisCluster
from redis.exceptions import ClusterDownError, RedisClusterException, SlotNotCoveredError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

# What "the app Redis is away" looks like, on one server or a cluster: callers
# catch these and degrade (a cache miss, no throttle) instead of failing a page.
# The one definition: the sandbox engine (no Django, no config) is handed it.
APP_REDIS_DOWN = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    ClusterDownError,  # a shard has no primary: the cluster refuses every key
    SlotNotCoveredError,
)


def redis_options(url: str, timeout: float, ca_cert: str = "") -> dict:
    """Timeouts always (a dead server must fail fast); a TLS CA bundle when asked."""
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    if ca_cert and url.startswith("rediss://"):
        options["ssl_ca_certs"] = ca_cert
    return options


@contextlib.contextmanager
def _unusable_is_a_connection_error() -> Iterator[None]:
    # While finding its shards, redis-py reports a cluster it cannot use (no
    # node answers, or the server is not a cluster) as RedisClusterException:
    # the class it also uses for misuse (a cross-slot MGET), which must still
    # raise. Around discovery only, it means the app Redis is away.
    try:
        yield
    except RedisClusterException as exc:
        raise RedisConnectionError(f"cannot use the cluster: {exc}") from exc


class AppRedisCluster(RedisCluster):
    """RedisCluster as the site needs it.

    - It fails fast: no retries after an error (redis-py's default is ten, with
      a 0.25 s pause each while the cluster is down). The error refreshes the
      slot map, so the next call follows a failover; a cache can miss once.
    - A cluster it cannot reach (or a server that is not a cluster) raises
      ConnectionError, like a single server that is down.
    - PING asks every primary, so /healthz notices a lost shard (redis-py
      asks one node).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        with _unusable_is_a_connection_error():
            super().__init__(*args, **kwargs)
        # Commands and pipelines rediscover the shards through this after an
        # error; wrap it once here rather than every caller.
        discover = self.nodes_manager.initialize

        def initialize(*a: Any, **k: Any) -> None:
            with _unusable_is_a_connection_error():
                discover(*a, **k)

        self.nodes_manager.initialize = initialize

    def ping(self, **kwargs: Any) -> bool:
        kwargs.setdefault("target_nodes", self.PRIMARIES)
        return super().ping(**kwargs)


def cluster_client(url: str, *, replica_reads: bool = False, **options: Any) -> AppRedisCluster:
    """A client for a cluster, given its configuration endpoint (or any node) in `url`.

    replica_reads: read commands go to each shard's replicas (round robin),
    which may be slightly behind; writes always go to the primaries.
    """
    if replica_reads:
        options["load_balancing_strategy"] = LoadBalancingStrategy.ROUND_ROBIN_REPLICAS
    return AppRedisCluster.from_url(
        url,
        # ElastiCache's configuration endpoint is a DNS name over the nodes:
        # keep asking it for the map, rather than only the nodes found the
        # first time (which a node replacement can retire).
        dynamic_startup_nodes=False,
        # A shard down is not the whole cluster down: keys on the others work.
        require_full_coverage=False,
        **options,
    )
