"""Reach: the connections to a target's server.

Learners' commands run as a Redis ACL user that can only touch `sbx:*` keys
and channels (`cachelab-sandbox`, created here, or a managed service's user
that must be confined the same way), so a mapping bug is still refused by the
server itself. Before serving anyone the isolation probe checks that: a write
outside `sbx:*` must answer NOPERM, or the sandbox refuses to serve.

A private target (a learner's own server) is reached the same way without
the confinement: `Connection(url, confine=False)`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence

import redis
from redis.connection import parse_url
from redis.exceptions import AuthenticationError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from learn.sandbox.resp import ErrorReply, Reply, ReplyParser

SANDBOX_USER = "cachelab-sandbox"
# A single server is away. (What "the *app* Redis is away" means, cluster
# included, is the site's to say: config.redis_config.APP_REDIS_DOWN, passed in.)
SERVER_AWAY = (RedisConnectionError, RedisTimeoutError, OSError)
# How long a reading of the server's memory is trusted, per process.
MEMORY_READ_SECONDS = 0.25


class SandboxUnavailable(Exception):
    """The sandbox server cannot be reached (or is unsafe to use)."""


class Connection:
    """Pools to one server: one for ordinary commands, one for blocking ones."""

    def __init__(
        self,
        url: str,
        *,
        password: str = "",
        manage_acl: bool = True,
        confine: bool = True,
        socket_timeout: float = 1.0,
        block_seconds: float = 2.0,
        ssl_ca_certs: str = "",
    ) -> None:
        self.url = url
        self.manage_acl = manage_acl and confine
        self.confine = confine
        self._password = password
        base = parse_url(url)
        self._admin_kwargs = {
            **base,
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
        }
        if ssl_ca_certs and url.startswith("rediss://"):
            self._admin_kwargs["ssl_ca_certs"] = ssl_ca_certs
        learner = dict(self._admin_kwargs)
        if self.manage_acl:
            learner.update(username=SANDBOX_USER, password=password)
        # A PING before reusing a connection idle for a second notices a restarted
        # server, so the first command after an outage does not fail.
        learner.update(parser_class=ReplyParser, protocol=2, health_check_interval=1)
        self.pool = redis.ConnectionPool(**learner)
        # Blocking commands wait up to the clamp; their socket must wait longer.
        self.blocking_pool = redis.ConnectionPool(
            **{**learner, "socket_timeout": block_seconds + socket_timeout}
        )
        self._admin: redis.Redis | None = None
        self._memory: tuple[float, tuple[int, int] | None] = (0.0, None)
        self._memory_readable = True
        self._ready = False

    def _admin_client(self) -> redis.Redis:
        # Through a pool: parse_url's connection_class (TLS) is a pool option.
        if self._admin is None:
            self._admin = redis.Redis(connection_pool=redis.ConnectionPool(**self._admin_kwargs))
        return self._admin

    def ensure_ready(self) -> None:
        """Create (or check) the restricted ACL user before serving anyone."""
        if self._ready:
            return
        try:
            if self.manage_acl:
                self._admin_client().execute_command(
                    "ACL", "SETUSER", SANDBOX_USER, "reset", "on",
                    f"#{hashlib.sha256(self._password.encode()).hexdigest()}",
                    "~sbx:*", "&sbx:*", "+@all", "-@admin", "-@dangerous", "-@scripting",
                    "-@pubsub", "+publish", "+spublish", "+sort", "+sort_ro",
                    "-select", "-move", "-wait", "-randomkey", "-dbsize",
                )  # fmt: skip
            if self.confine:
                self._check_isolation()
        except ResponseError as exc:
            raise SandboxUnavailable(f"cannot set up the sandbox user: {exc}") from exc
        except SERVER_AWAY as exc:
            raise SandboxUnavailable(str(exc)) from exc
        self._ready = True

    def _check_isolation(self) -> None:
        probe = self.call("SET", "cachelab:isolation-probe", "1")
        if not (isinstance(probe, ErrorReply) and probe.startswith("NOPERM")):
            self.call("DEL", "cachelab:isolation-probe")
            raise SandboxUnavailable(
                "the sandbox user can write outside sbx:*; refusing to serve the sandbox"
            )

    def _attempt(self, pool: redis.ConnectionPool, work: Callable) -> object:
        try:
            conn = pool.get_connection()
        except AuthenticationError:
            raise
        except SERVER_AWAY as exc:
            raise SandboxUnavailable(str(exc)) from exc
        try:
            return work(conn)
        except AuthenticationError:
            raise
        except SERVER_AWAY as exc:
            conn.disconnect()
            raise SandboxUnavailable(str(exc)) from exc
        finally:
            pool.release(conn)

    def _with_connection(self, pool: redis.ConnectionPool, work: Callable) -> object:
        self.ensure_ready()
        try:
            return self._attempt(pool, work)
        except AuthenticationError as exc:
            # The server restarted and forgot our user: set it up again, once.
            self._ready = False
            if not self.manage_acl:
                raise SandboxUnavailable(str(exc)) from exc
            self.ensure_ready()
            try:
                return self._attempt(pool, work)
            except AuthenticationError as again:
                raise SandboxUnavailable(str(again)) from again

    def call(self, *args: bytes | str | int, blocking: bool = False) -> Reply:
        """One command, its reply as the server sent it (errors returned, not raised)."""
        pool = self.blocking_pool if blocking else self.pool

        def work(conn: redis.Connection) -> Reply:
            conn.send_command(*args)
            return conn.read_response()

        if not self._ready:
            # Setting up (the isolation probe, the command table): no retry loop.
            try:
                return self._attempt(pool, work)
            except AuthenticationError as exc:
                raise SandboxUnavailable(str(exc)) from exc
        return self._with_connection(pool, work)

    def pipeline(self, commands: Sequence[Sequence[bytes | str | int]]) -> list[Reply]:
        """Several commands in one round trip."""

        def work(conn: redis.Connection) -> list[Reply]:
            conn.send_packed_command(conn.pack_commands(commands))
            return [conn.read_response() for _ in commands]

        return self._with_connection(self.pool, work) if commands else []

    def memory(self, fresh: bool = False) -> tuple[int, int] | None:
        """(used_memory, maxmemory) of the server, or None when unknown or unbounded.

        INFO needs the URL's own user (the learners' one may not run it); a
        managed service's confined user cannot either, and then the server's
        own refusal (noeviction's OOM error) is what stops a write.
        """
        read_at, reading = self._memory
        if not self._memory_readable:
            return None
        if not fresh and time.monotonic() - read_at < MEMORY_READ_SECONDS:
            return reading
        try:
            info = self._admin_client().info("memory")
        except ResponseError:
            self._memory_readable = False  # NOPERM: it will not change while we run
            return None
        except SERVER_AWAY as exc:
            raise SandboxUnavailable(str(exc)) from exc
        most = int(info.get("maxmemory", 0))
        reading = (int(info["used_memory"]), most) if most else None
        self._memory = (time.monotonic(), reading)
        return reading

    def close(self) -> None:
        self.pool.disconnect()
        self.blocking_pool.disconnect()
        if self._admin is not None:
            self._admin.close()
