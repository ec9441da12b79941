"""A Redis cache that degrades instead of failing when Redis is away.

The app Redis is a cache: losing it must cost speed, never a page. Django's
RedisCache raises on connection errors; this backend logs and answers as a miss
so sessions fall back to the database copy and pages render uncached.

ResilientRedisClusterCache does the same on a Redis Cluster (REDIS_CLUSTER):
Django's own client speaks to one server only.
"""

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from config.redis_config import APP_REDIS_DOWN as UNAVAILABLE
from config.redis_config import AppRedisCluster, cluster_client

logger = logging.getLogger(__name__)


def _degrade(fallback: Callable[..., Any]) -> Callable:
    def decorator(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                logger.warning("cache %s unavailable: %s", method.__name__, exc)
                return fallback(*args, **kwargs)

        return wrapper

    return decorator


def _default(key: str, default: Any = None, *args: Any, **kwargs: Any) -> Any:
    return default


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django builds a new redis.Redis per call; redis-py 8 makes that costly
    (~0.3 ms of callback tables). Keep one client per pool instead: clients are
    thread-safe and share their pool anyway."""

    def get_client(self, key: str | None = None, *, write: bool = False):
        index = self._get_connection_pool_index(write)
        clients = self.__dict__.setdefault("_clients", {})
        if index not in clients:
            clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return clients[index]


class ClusterRedisCacheClient(RedisCacheClient):
    """Django's cache client on a cluster: one RedisCluster client for every call
    (it keeps the slot map and a pool per node), and the calls that name several
    keys split by slot, since cache keys are spread over every shard."""

    def __init__(
        self,
        servers: list[str],
        serializer: Any = None,
        pool_class: Any = None,
        parser_class: Any = None,
        replica_reads: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(servers, serializer, pool_class, parser_class, **options)
        self._replica_reads = replica_reads
        self._options = options
        self._cluster: AppRedisCluster | None = None
        self._lock = threading.Lock()

    def get_client(self, key: str | None = None, *, write: bool = False) -> AppRedisCluster:
        # Built on first use, not with the cache: building one connects, and a
        # cluster that is down must cost a miss, not the site's start.
        if self._cluster is None:
            with self._lock:
                if self._cluster is None:
                    self._cluster = cluster_client(
                        self._servers[0], replica_reads=self._replica_reads, **self._options
                    )
        return self._cluster

    def get_many(self, keys: Any) -> dict:
        keys = list(keys)
        values = self.get_client().mget_nonatomic(keys)
        found = zip(keys, values, strict=True)
        return {k: self._serializer.loads(v) for k, v in found if v is not None}

    def set_many(self, data: dict, timeout: int | None) -> None:
        pipe = self.get_client(write=True).pipeline(transaction=False)
        for key, value in data.items():
            if timeout == 0:
                pipe.delete(key)  # as Django's client: a zero timeout expires at once
            else:
                pipe.set(key, self._serializer.dumps(value), ex=timeout)
        pipe.execute()


class ResilientRedisCache(RedisCache):
    client_class: type[RedisCacheClient] = ReusedClientRedisCacheClient

    def __init__(self, server: str, params: dict) -> None:
        super().__init__(server, params)
        self._class = self.client_class

    get = _degrade(_default)(RedisCache.get)
    set = _degrade(lambda *a, **k: None)(RedisCache.set)
    add = _degrade(lambda *a, **k: False)(RedisCache.add)
    touch = _degrade(lambda *a, **k: False)(RedisCache.touch)
    delete = _degrade(lambda *a, **k: False)(RedisCache.delete)
    get_many = _degrade(lambda *a, **k: {})(RedisCache.get_many)
    set_many = _degrade(lambda keys, *a, **k: list(keys))(RedisCache.set_many)
    delete_many = _degrade(lambda *a, **k: None)(RedisCache.delete_many)
    has_key = _degrade(lambda *a, **k: False)(RedisCache.has_key)


class ResilientRedisClusterCache(ResilientRedisCache):
    """LOCATION is the cluster's configuration endpoint (or any node)."""

    client_class = ClusterRedisCacheClient
