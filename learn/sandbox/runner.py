"""Run one learner's command line on the shared sandbox server.

Layers, outermost first: the line is parsed like redis-cli parses it; the
policy refuses what may not run (with a reason); every key argument is mapped
into the learner's namespace using the server's key specs; the command runs as
a Redis ACL user that can only touch `sbx:*` keys and channels, so a mapping
bug is still refused by Redis itself; replies are mapped back and printed
exactly as redis-cli prints them.

Bookkeeping (rate limits, the learner's key index, idle times, transactions
typed over several requests, history) lives in the *app* Redis, never beside
the learner's keys, so none of it shows through KEYS, SCAN or TTL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import redis
from redis.connection import parse_url
from redis.exceptions import (
    AuthenticationError,
    ClusterDownError,
    ResponseError,
    SlotNotCoveredError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from learn.sandbox import policy
from learn.sandbox.cli import InvalidArguments, format_reply, split_args
from learn.sandbox.commands import CommandInfo, CommandTable, UnmappableKeys
from learn.sandbox.help import help_text
from learn.sandbox.namespace import CHANNEL_ARGS, ROOT, Namespace
from learn.sandbox.resp import ErrorReply, Reply, ReplyParser

SANDBOX_USER = "cachelab-sandbox"
BOOK = "cachelab:sbx:"
# The app Redis is away (one server, or a cluster missing a shard); the same
# as config.redis_config.UNAVAILABLE, kept here so the engine needs no Django.
DOWN = (RedisConnectionError, RedisTimeoutError, OSError, ClusterDownError, SlotNotCoveredError)
TRANSACTION_CONTROL = {"multi", "exec", "discard", "watch", "unwatch"}
EMULATED = {"keys", "scan", "dbsize", "randomkey"}
# Where a blocking command takes its timeout, in seconds unless noted.
TIMEOUT_LAST = {"blpop", "brpop", "bzpopmin", "bzpopmax", "blmove", "brpoplpush"}
TIMEOUT_FIRST = {"blmpop", "bzmpop"}
TIMEOUT_BLOCK_MS = {"xread", "xreadgroup"}
SCAN_BATCH = 1000
SCAN_ROUNDS = 200  # bounds one request's scanning, so one learner cannot hold the server
TRANSCRIPT = 30  # entries the panel shows again after a page load
HISTORY = 100  # commands Up/Down can recall
SWEEP_CHANCE = 1 / 500  # share of commands that also clear a few idle namespaces

TOKEN_BUCKET = """
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= cost then tokens = tokens - cost; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return allowed
"""


class SandboxUnavailable(Exception):
    """The sandbox server cannot be reached (or is unsafe to use)."""


@dataclass
class Outcome:
    reply: str
    error: bool = False
    note: str = ""
    in_transaction: bool = False
    changed: bool = False
    # Key names the command may have created, for the learner's key index.
    written: list[bytes] = field(default_factory=list, repr=False)


@dataclass
class KeyRow:
    name: str
    type: str
    ttl: int


@dataclass
class Transaction:
    """MULTI ... EXEC typed over several requests, kept in the app Redis."""

    multi: bool = False
    dirty: bool = False
    queued: list[list[bytes]] = field(default_factory=list)
    watched: dict[bytes, str] = field(default_factory=dict)

    def dumps(self) -> str:
        return json.dumps(
            {
                "multi": self.multi,
                "dirty": self.dirty,
                "queued": [[a.decode("latin-1") for a in args] for args in self.queued],
                "watched": {k.decode("latin-1"): v for k, v in self.watched.items()},
            }
        )

    @classmethod
    def loads(cls, raw: bytes | None) -> Transaction:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(
            multi=data["multi"],
            dirty=data["dirty"],
            queued=[[a.encode("latin-1") for a in args] for args in data["queued"]],
            watched={k.encode("latin-1"): v for k, v in data["watched"].items()},
        )

    @property
    def active(self) -> bool:
        return self.multi or bool(self.watched)


def book_key(namespace: Namespace, kind: str) -> str:
    """A bookkeeping key of one learner, e.g. cachelab:sbx:{<learner>}:rate.

    The {hash tag} puts all of a learner's bookkeeping in one cluster slot, so a
    command naming several of them works when the app Redis is a cluster.
    """
    return f"{BOOK}{{{namespace.name}}}:{kind}"


def _arity_ok(info: CommandInfo, argc: int) -> bool:
    return argc == info.arity if info.arity > 0 else argc >= -info.arity


def _error(message: str) -> Outcome:
    return Outcome(reply=format_reply(ErrorReply(message)), error=True)


class Sandbox:
    """One sandbox server, shared by every learner, each in their own namespace."""

    def __init__(
        self,
        url: str,
        app: redis.Redis,
        *,
        password: str,
        manage_acl: bool = True,
        limits: policy.Limits | None = None,
        socket_timeout: float = 1.0,
        ssl_ca_certs: str = "",
    ) -> None:
        self.url = url
        self.app = app
        self.limits = limits or policy.Limits()
        self.manage_acl = manage_acl
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
        if manage_acl:
            learner.update(username=SANDBOX_USER, password=password)
        # A PING before reusing a connection idle for a second notices a restarted
        # server, so the first command after an outage does not fail.
        learner.update(parser_class=ReplyParser, protocol=2, health_check_interval=1)
        self.pool = redis.ConnectionPool(**learner)
        # Blocking commands wait up to the clamp; their socket must wait longer.
        self.blocking_pool = redis.ConnectionPool(
            **{**learner, "socket_timeout": self.limits.block_seconds + socket_timeout}
        )
        self.table = CommandTable(self._call)
        self._ready = False

    # -- connections ------------------------------------------------------
    def ensure_ready(self) -> None:
        """Create (or check) the restricted ACL user before serving anyone."""
        if self._ready:
            return
        try:
            if self.manage_acl:
                # Through a pool: parse_url's connection_class (TLS) is a pool option.
                admin = redis.Redis(connection_pool=redis.ConnectionPool(**self._admin_kwargs))
                try:
                    admin.execute_command(
                        "ACL", "SETUSER", SANDBOX_USER, "reset", "on",
                        f"#{hashlib.sha256(self._password.encode()).hexdigest()}",
                        "~sbx:*", "&sbx:*", "+@all", "-@admin", "-@dangerous", "-@scripting",
                        "-@pubsub", "+publish", "+spublish", "+sort", "+sort_ro",
                        "-select", "-move", "-wait", "-randomkey", "-dbsize",
                    )  # fmt: skip
                finally:
                    admin.close()
            self._check_isolation()
        except ResponseError as exc:
            raise SandboxUnavailable(f"cannot set up the sandbox user: {exc}") from exc
        except DOWN as exc:
            raise SandboxUnavailable(str(exc)) from exc
        self._ready = True

    def _check_isolation(self) -> None:
        probe = self._call("SET", "cachelab:isolation-probe", "1")
        if not (isinstance(probe, ErrorReply) and probe.startswith("NOPERM")):
            self._call("DEL", "cachelab:isolation-probe")
            raise SandboxUnavailable(
                "the sandbox user can write outside sbx:*; refusing to serve the sandbox"
            )

    def _attempt(self, pool: redis.ConnectionPool, work: Callable) -> object:
        try:
            conn = pool.get_connection()
        except AuthenticationError:
            raise
        except DOWN as exc:
            raise SandboxUnavailable(str(exc)) from exc
        try:
            return work(conn)
        except AuthenticationError:
            raise
        except DOWN as exc:
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

    def _call(self, *args: bytes | str | int, pool: redis.ConnectionPool | None = None) -> Reply:
        def work(conn: redis.Connection) -> Reply:
            conn.send_command(*args)
            return conn.read_response()

        if not self._ready:
            # Setting up (the isolation probe, the command table): no retry loop.
            try:
                return self._attempt(pool or self.pool, work)
            except AuthenticationError as exc:
                raise SandboxUnavailable(str(exc)) from exc
        return self._with_connection(pool or self.pool, work)

    def _pipeline(self, commands: Sequence[Sequence[bytes | str | int]]) -> list[Reply]:
        def work(conn):
            conn.send_packed_command(conn.pack_commands(commands))
            return [conn.read_response() for _ in commands]

        return self._with_connection(self.pool, work) if commands else []

    # -- the public surface --------------------------------------------------
    def run(self, namespace: Namespace, line: str, *, record: bool = False) -> Outcome:
        """Run one command line for a learner; never raises for bad input.

        record=True also keeps the line and its reply in the learner's transcript
        and Up/Down history (the panel's), in the same round trip as the rest of
        the bookkeeping.
        """
        outcome = self._run(namespace, line, learner=record)
        self._bookkeep(namespace, outcome.written, (line, outcome) if record else None)
        return outcome

    def log_key(self, namespace: Namespace) -> str:
        return book_key(namespace, "log")

    def history_key(self, namespace: Namespace) -> str:
        return book_key(namespace, "hist")

    def _run(self, namespace: Namespace, line: str, *, learner: bool = False) -> Outcome:
        self.ensure_ready()
        raw = line.encode("utf-8", errors="replace")
        refusal = policy.check_size(raw, self.limits)
        if refusal:
            return _error(f"ERR {refusal}")
        try:
            args = split_args(raw)
        except InvalidArguments as exc:
            return Outcome(reply=str(exc), error=True)
        if not args:
            return Outcome(reply="")
        allowed, tx, key_count = self._admit(namespace)
        if key_count is None and learner:
            # The rate limit and key quota live in the app Redis: without it a
            # learner's commands would run unbounded, so the panel waits for it.
            # Graders' scratch runs go on (one answer each, deleted at once).
            raise SandboxUnavailable("the app Redis holding the sandbox limits is unavailable")
        if not allowed:
            return _error(
                "ERR slow down: the sandbox runs at most "
                f"{self.limits.rate:g} commands a second per learner. Try again in a moment."
            )
        if random.random() < SWEEP_CHANCE:
            self.sweep_idle()  # a little housekeeping as the site goes (also: sandbox_sweep)
        name = args[0].decode("utf-8", errors="replace").lower()
        if name == "help":
            return Outcome(reply=help_text(self._call, args[1:]))
        if name in TRANSACTION_CONTROL:
            return self._transaction_control(namespace, tx, name, args)
        info = self.table.lookup(args)
        refusal = policy.check_command(info, args, self.limits) or self._check_batch(
            namespace, [(info, args)], key_count
        )
        if tx.multi:
            return self._queue(namespace, tx, info, args, refusal)
        if refusal:
            return _error(f"ERR {refusal}")
        if info is not None and info.name in EMULATED:
            return self._emulate(namespace, info, args)
        return self._execute(namespace, info, args)

    def query(self, namespace: Namespace, *args: str | bytes) -> Reply:
        """Run a command for the server's own use (graders): keys mapped, reply raw.

        No policy or rate limit: callers are code, not learners.
        """
        self.ensure_ready()
        encoded = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        info = self.table.lookup(encoded)
        mapped, _, _ = self._prepare(namespace, info, encoded)
        return namespace.unmap_reply(info.name if info else "", self._call(*mapped))

    def reset(self, namespace: Namespace) -> int:
        """Delete every key of this learner (and only theirs); return how many."""
        self.ensure_ready()
        deleted = 0
        for batch in self._scan_batches(namespace.pattern(), rounds=None):
            reply = self._call("UNLINK", *batch)
            deleted += reply if isinstance(reply, int) else 0
        self._forget(namespace)
        return deleted

    def adopt(self, source: Namespace, target: Namespace) -> int:
        """Move `source`'s keys into `target` (an anonymous learner joining an account).

        A name `target` already uses keeps its value, and the key quota holds;
        what stays behind is swept with the idle `source`. Returns how many moved.
        """
        self.ensure_ready()
        names = sorted(self.app.smembers(self.index_key(source)))
        room = self.limits.keys - self._key_count(target, prune=True)
        moved = []
        for name in names:
            if len(moved) >= room:
                break
            # RENAMENX keeps the key's TTL and never overwrites the target's own key.
            if self._call("RENAMENX", source.key(name), target.key(name)) == 1:
                moved.append(name)
        if moved:
            index = self.index_key(target)
            pipe = self.app.pipeline(transaction=False)
            pipe.srem(self.index_key(source), *moved)
            pipe.sadd(index, *moved).expire(index, self.limits.idle_seconds * 2)
            pipe.zadd(BOOK + "active", {target.name: time.time()})
            pipe.execute()
        return len(moved)

    def keys(
        self, namespace: Namespace, limit: int = 50, names: set[bytes] | None = None
    ) -> list[KeyRow]:
        """The learner's keys with type and TTL, for the live list beside the prompt.

        `names`: the learner's key index if the caller already read it.
        """
        self.ensure_ready()
        if names is None:
            names = self.app.smembers(self.index_key(namespace))
        names = sorted(names)[: self.limits.keys]
        if not names:
            return []
        replies = self._pipeline(
            [c for n in names for c in (("TYPE", namespace.key(n)), ("TTL", namespace.key(n)))]
        )
        rows, gone = [], []
        for i, name in enumerate(names):
            kind, ttl = replies[2 * i], replies[2 * i + 1]
            if kind == b"none":
                gone.append(name)
            else:
                rows.append(KeyRow(name.decode("utf-8", errors="replace"), kind.decode(), ttl))
        if gone:
            self.app.srem(self.index_key(namespace), *gone)
        return rows[:limit]

    def sweep_idle(self, now: float | None = None, batch: int = 20) -> int:
        """Delete the keys of namespaces idle for longer than the limit."""
        cutoff = (now or time.time()) - self.limits.idle_seconds
        idle = self.app.zrangebyscore(BOOK + "active", "-inf", cutoff, start=0, num=batch)
        for name in idle:
            self.reset(Namespace(name.decode()))
        return len(idle)

    # -- bookkeeping in the app Redis ------------------------------------
    def index_key(self, namespace: Namespace) -> str:
        return book_key(namespace, "keys")

    def _admit(self, namespace: Namespace) -> tuple[bool, Transaction, int | None]:
        """One round trip: take a token, note the activity, read any open
        transaction and how many keys the learner's index holds."""
        try:
            now = time.time()
            pipe = self.app.pipeline(transaction=False)
            # EVAL, not a registered script: redis-py's cluster pipelines refuse
            # EVALSHA, and its other pipelines send SCRIPT EXISTS first (a round
            # trip more). One round trip, on a server or a cluster.
            pipe.execute_command(
                "EVAL", TOKEN_BUCKET, 1, book_key(namespace, "rate"),
                self.limits.burst, self.limits.rate, now, 1,
            )  # fmt: skip
            pipe.zadd(BOOK + "active", {namespace.name: now})
            pipe.get(book_key(namespace, "tx"))
            pipe.scard(self.index_key(namespace))
            allowed, _, raw_tx, key_count = pipe.execute()
            return bool(allowed), Transaction.loads(raw_tx), key_count
        except DOWN:
            # The app Redis is away: the other bounds still hold.
            return True, Transaction(), None

    def _bookkeep(
        self, namespace: Namespace, written: Sequence[bytes], entry: tuple[str, Outcome] | None
    ) -> None:
        """After a command: index the keys it wrote; keep the transcript and history."""
        if not written and entry is None:
            return
        pipe = self.app.pipeline(transaction=False)
        if written:
            index = self.index_key(namespace)
            pipe.sadd(index, *written).expire(index, self.limits.idle_seconds * 2)
        if entry is not None:
            line, outcome = entry
            shown = {"command": line, "reply": outcome.reply, "error": outcome.error}
            log, history = self.log_key(namespace), self.history_key(namespace)
            pipe.rpush(log, json.dumps({**shown, "note": outcome.note}))
            pipe.ltrim(log, -TRANSCRIPT, -1).expire(log, self.limits.idle_seconds)
            pipe.rpush(history, line).ltrim(history, -HISTORY, -1)
            pipe.expire(history, self.limits.idle_seconds)
        with contextlib.suppress(*DOWN):
            pipe.execute()  # bookkeeping only: the command itself has run

    def _forget(self, namespace: Namespace) -> None:
        # Bookkeeping only: with the app Redis away the keys are still gone, and
        # an index entry left behind is pruned when counted.
        with contextlib.suppress(*DOWN):
            self.app.delete(
                self.index_key(namespace), book_key(namespace, "tx"), book_key(namespace, "rate")
            )
            self.app.zrem(BOOK + "active", namespace.name)

    def _save_tx(self, namespace: Namespace, tx: Transaction) -> None:
        key = book_key(namespace, "tx")
        if tx.active:
            self.app.set(key, tx.dumps(), ex=3600)
        else:
            self.app.delete(key)

    # -- limits -----------------------------------------------------------
    def _check_batch(
        self,
        namespace: Namespace,
        commands: Sequence[tuple[CommandInfo | None, list[bytes]]],
        key_count: int | None = None,
    ) -> policy.Refusal | None:
        """The limits for one command, or a whole queued transaction taken together."""
        writes = []
        for info, args in commands:
            if info is None:
                continue
            try:
                positions = self.table.key_positions(info, args)
            except UnmappableKeys:
                return policy.Refusal(
                    "the sandbox cannot tell which arguments of this command are keys. "
                    "Give the keys names that differ from the other arguments."
                )
            refusal = self._check_arguments(info, args, positions) or self._check_offsets(
                info.name, args
            )
            if refusal:
                return refusal
            if info.has("write") and positions:
                writes.append((info, args, positions))
        return self._check_quota(namespace, writes, key_count) if writes else None

    def _check_arguments(
        self, info: CommandInfo, args: list[bytes], positions: list[int]
    ) -> policy.Refusal | None:
        for i in positions:
            if len(args[i]) > self.limits.key_name_bytes:
                return policy.Refusal(
                    f"key names may be at most {self.limits.key_name_bytes} bytes in the sandbox."
                )
        mapped = {*positions, CHANNEL_ARGS.get(info.name, -1)}
        others = [i for i in range(1, len(args)) if i not in mapped]
        # Key specs find a keyword's first occurrence; some commands obey the last
        # (GEORADIUS ... STORE a STORE b). Say so instead of guessing.
        for spec in info.key_specs:
            if spec.begin == "keyword":
                repeats = [i for i in others if args[i].upper() == spec.keyword.upper()]
                if len(repeats) > 1:
                    return policy.Refusal(f"give {spec.keyword.decode()} only once.")
        # Whatever the mapping misses, a learner must never name the sandbox's
        # own prefix: that is how another learner's keys are spelled.
        if any(args[i].startswith(ROOT) for i in others):
            return policy.Refusal(
                f"arguments may not start with {ROOT.decode()!r}: the sandbox keeps that prefix "
                "for itself. Choose another name."
            )
        return None

    def _check_offsets(self, name: str, args: list[bytes]) -> policy.Refusal | None:
        most = self.limits.key_bytes
        too_far = policy.Refusal(
            f"that offset would grow the key past {most // 1024} KiB, "
            "the most a sandbox key may hold."
        )
        try:
            if name == "setrange" and len(args) == 4 and int(args[2]) + len(args[3]) > most:
                return too_far
            if name == "setbit" and len(args) == 4 and int(args[2]) >= most * 8:
                return too_far
        except ValueError:
            return None  # not numbers: the server answers with its own error
        if name in {"bitfield", "bitfield_ro"}:
            # From 2: args[1] is the key, whatever it is called (even "get").
            for i in range(2, len(args) - 2):
                if args[i].upper() not in {b"GET", b"SET", b"INCRBY"}:
                    continue
                try:
                    bits = int(args[i + 1][1:])
                    offset = args[i + 2]
                    position = int(offset[1:]) * bits if offset.startswith(b"#") else int(offset)
                except ValueError:
                    continue  # not an operation after all (or one the server rejects)
                if position + bits > most * 8:
                    return too_far
        return None

    def _check_quota(
        self,
        namespace: Namespace,
        writes: Sequence[tuple[CommandInfo, list[bytes], list[int]]],
        key_count: int | None = None,
    ) -> policy.Refusal | None:
        names = list(dict.fromkeys(args[i] for _, args, positions in writes for i in positions))
        grows = any(info.has("denyoom") for info, _, _ in writes)
        checks = [("EXISTS", namespace.key(n)) for n in names]
        if grows:
            checks += [("MEMORY", "USAGE", namespace.key(n), "SAMPLES", "0") for n in names]
        replies = self._pipeline(checks)
        missing = sum(1 for r in replies[: len(names)] if r == 0)
        if grows:
            usage = {
                n: u if isinstance(u, int) else 0
                for n, u in zip(names, replies[len(names) :], strict=True)
            }
            refusal = self._check_sizes(writes, usage)
            if refusal:
                return refusal
        # The index may hold keys since deleted or expired: prune before refusing.
        if missing and key_count is None:
            key_count = self._key_count(namespace, prune=False)
        over = missing and key_count + missing > self.limits.keys
        if over and self._key_count(namespace, prune=True) + missing > self.limits.keys:
            return policy.Refusal(
                f"your sandbox may hold at most {self.limits.keys} keys, and this would make "
                "more. Delete some (DEL key) or press “Reset my sandbox”."
            )
        return None

    def _check_sizes(
        self, writes: Sequence[tuple[CommandInfo, list[bytes], list[int]]], usage: dict[bytes, int]
    ) -> policy.Refusal | None:
        """Bound every key a command may grow: what it holds, plus what flows in.

        Into each key a command writes flow its non-key arguments and the whole of
        the keys it only reads (SUNIONSTORE, COPY, SORT ... STORE): an upper bound,
        so no union or copy can slip past the limit.
        """
        most = self.limits.key_bytes
        added: dict[bytes, int] = {}
        for info, args, positions in writes:
            if not info.has("denyoom"):
                continue
            sources = set(self.table.read_only_positions(info, args))
            inflow = sum(len(a) for i, a in enumerate(args[1:], 1) if i not in positions)
            inflow += sum(usage.get(args[i], 0) for i in sources)
            if inflow > most:
                return policy.Refusal(
                    f"that is more than {most // 1024} KiB of data for one key, "
                    "the most a sandbox key may hold."
                )
            for i in positions:
                if i not in sources:
                    added[args[i]] = added.get(args[i], 0) + inflow
        for name, extra in added.items():
            if usage.get(name, 0) + extra > most:
                return policy.Refusal(
                    f"'{name.decode(errors='replace')}' would grow past {most // 1024} KiB, "
                    "the most a sandbox key may hold."
                )
        return None

    def _key_count(self, namespace: Namespace, prune: bool) -> int:
        index = self.index_key(namespace)
        try:
            if not prune:
                return self.app.scard(index)
            names = list(self.app.smembers(index))
        except DOWN:
            return 0  # the app Redis is away: no index to count, the other bounds hold
        exists = self._pipeline([("EXISTS", namespace.key(n)) for n in names])
        gone = [n for n, e in zip(names, exists, strict=True) if e == 0]
        if gone:
            with contextlib.suppress(*DOWN):
                self.app.srem(index, *gone)
        return len(names) - len(gone)

    # -- running ------------------------------------------------------------
    def _prepare(
        self, namespace: Namespace, info: CommandInfo | None, args: list[bytes]
    ) -> tuple[list[bytes], list[bytes], str]:
        """Map keys, clamp blocking timeouts; return (mapped args, key names, note)."""
        if info is None:
            return args, [], ""
        positions = self.table.key_positions(info, args)
        mapped = namespace.map_args(args, positions, info.name)
        note = self._clamp(info, mapped)
        names = [args[i] for i in positions] if info.has("write") else []
        return mapped, names, note

    def _clamp(self, info: CommandInfo, args: list[bytes]) -> str:
        """Cap blocking timeouts (0 = forever) at the limit; say so in a note."""
        if not info.has("blocking"):
            return ""
        most = self.limits.block_seconds
        if info.name in TIMEOUT_LAST:
            indexes, scale = [len(args) - 1], 1.0
        elif info.name in TIMEOUT_FIRST:
            indexes, scale = [1], 1.0
        elif info.name in TIMEOUT_BLOCK_MS:
            # Options sit between the command (after GROUP g c for XREADGROUP) and
            # STREAMS; the server obeys every BLOCK there, the last one winning.
            start = 4 if info.name == "xreadgroup" else 1
            upper = [a.upper() for a in args]
            end = upper.index(b"STREAMS", start) if b"STREAMS" in upper[start:] else len(args)
            indexes = [i + 1 for i in range(start, end - 1) if upper[i] == b"BLOCK"]
            scale = 1000.0
        else:
            return ""
        note = ""
        for index in indexes:
            try:
                asked = float(args[index]) / scale
            except (ValueError, IndexError):
                continue  # the server explains a malformed timeout itself
            if asked < 0 or 0 < asked <= most:
                continue  # negative: the server's own error; short: as asked
            args[index] = str(int(most * scale) if scale > 1 else most).encode()
            wanted = "0 (wait forever)" if asked == 0 else f"{asked:g} s"
            note = f"The sandbox waited at most {most:g} s (you asked for {wanted})."
        return note

    def _execute(
        self, namespace: Namespace, info: CommandInfo | None, args: list[bytes]
    ) -> Outcome:
        mapped, names, note = self._prepare(namespace, info, args)
        pool = self.blocking_pool if info is not None and info.has("blocking") else self.pool
        reply = self._call(*mapped, pool=pool)
        reply = namespace.unmap_reply(info.name if info else "", reply)
        failed = isinstance(reply, ErrorReply)
        return Outcome(
            reply=format_reply(reply),
            error=failed,
            note=note,
            changed=bool(info and info.has("write")),
            written=[] if failed else names,
        )

    # -- commands that see the whole keyspace, narrowed to the namespace -------
    def _scan_batches(
        self, pattern: bytes, rounds: int | None = SCAN_ROUNDS, kind: bytes | None = None
    ):
        cursor, done = b"0", 0
        while True:
            command = ["SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_BATCH]
            if kind:
                command += ["TYPE", kind]
            reply = self._call(*command)
            if isinstance(reply, ErrorReply):
                return
            cursor, found = reply
            if found:
                yield found
            done += 1
            if cursor == b"0" or (rounds is not None and done >= rounds):
                return

    def _emulate(self, namespace: Namespace, info: CommandInfo, args: list[bytes]) -> Outcome:
        name = info.name
        if not _arity_ok(info, len(args)):
            return _error(f"ERR wrong number of arguments for '{name}' command")
        if name == "scan":
            return self._scan(namespace, args)
        if name == "keys":
            found = [k for batch in self._scan_batches(namespace.pattern(args[1])) for k in batch]
            return Outcome(reply=format_reply([namespace.strip(k) for k in found]))
        found = [k for batch in self._scan_batches(namespace.pattern()) for k in batch]
        if name == "dbsize":
            return Outcome(reply=format_reply(len(found)))
        choice = namespace.strip(random.choice(found)) if found else None
        return Outcome(reply=format_reply(choice))

    def _scan(self, namespace: Namespace, args: list[bytes]) -> Outcome:
        try:
            cursor = int(args[1])
            if cursor < 0:
                raise ValueError
        except ValueError:
            return _error("ERR invalid cursor")
        pattern, count, kind = b"*", 10, None
        options = args[2:]
        if len(options) % 2:
            return _error("ERR syntax error")
        for option, value in zip(options[::2], options[1::2], strict=True):
            word = option.upper()
            if word == b"MATCH":
                pattern = value
            elif word == b"COUNT":
                try:
                    count = int(value)
                except ValueError:
                    return _error("ERR value is not an integer or out of range")
                if count < 1:
                    return _error("ERR syntax error")
            elif word == b"TYPE":
                kind = value
            else:
                return _error("ERR syntax error")
        # Other learners' keys fill most of the server's pages; keep scanning
        # (a bounded number of rounds) until this learner's page has something.
        found: list[bytes] = []
        current = str(cursor).encode()
        for _ in range(SCAN_ROUNDS):
            command = [
                "SCAN",
                current,
                "MATCH",
                namespace.pattern(pattern),
                "COUNT",
                max(count, SCAN_BATCH),
            ]
            if kind:
                command += ["TYPE", kind]
            reply = self._call(*command)
            if isinstance(reply, ErrorReply):
                return Outcome(reply=format_reply(namespace.unmap_reply("scan", reply)), error=True)
            current, batch = reply
            found.extend(namespace.strip(k) for k in batch)
            if current == b"0" or len(found) >= count:
                break
        return Outcome(reply=format_reply([current, found]))

    # -- MULTI / EXEC / WATCH over several requests ------------------------
    def _transaction_control(
        self, namespace: Namespace, tx: Transaction, name: str, args: list[bytes]
    ) -> Outcome:
        if name == "multi":
            if tx.multi:
                return Outcome(
                    reply=format_reply(ErrorReply("ERR MULTI calls can not be nested")),
                    error=True,
                    in_transaction=True,
                )
            tx.multi = True
            self._save_tx(namespace, tx)
            return Outcome(reply="OK", in_transaction=True)
        if name == "discard":
            if not tx.multi:
                return _error("ERR DISCARD without MULTI")
            self._save_tx(namespace, Transaction())
            return Outcome(reply="OK")
        if name == "watch":
            if tx.multi:
                return Outcome(
                    reply=format_reply(ErrorReply("ERR WATCH inside MULTI is not allowed")),
                    error=True,
                    in_transaction=True,
                )
            if len(args) < 2:
                return _error("ERR wrong number of arguments for 'watch' command")
            keys = [namespace.key(k) for k in args[1:]]
            tx.watched.update(zip(keys, self._fingerprints(keys), strict=True))
            self._save_tx(namespace, tx)
            return Outcome(reply="OK")
        if name == "unwatch":
            if tx.multi:
                return self._queue(namespace, tx, self.table.lookup(args), args, None)
            tx.watched = {}
            self._save_tx(namespace, tx)
            return Outcome(reply="OK")
        # EXEC
        if not tx.multi:
            return _error("ERR EXEC without MULTI")
        self._save_tx(namespace, Transaction())
        if tx.dirty:
            return _error("EXECABORT Transaction discarded because of previous errors.")
        return self._exec(namespace, tx)

    def _queue(
        self,
        namespace: Namespace,
        tx: Transaction,
        info: CommandInfo | None,
        args: list[bytes],
        refusal: policy.Refusal | None,
    ) -> Outcome:
        shown = args[0].decode("utf-8", errors="replace")
        if refusal is None and info is None:
            beginning = " ".join(f"'{a.decode('utf-8', errors='replace')}'" for a in args[1:])
            message = f"ERR unknown command '{shown}', with args beginning with: {beginning}"
        elif refusal is None and not _arity_ok(info, len(args)):
            message = f"ERR wrong number of arguments for '{info.name}' command"
        elif refusal is None and info.name in EMULATED:
            message = f"ERR {shown.upper()} cannot be queued in the sandbox; run it outside MULTI."
        elif refusal is not None:
            message = f"ERR {refusal}"
        else:
            tx.queued.append(args)
            self._save_tx(namespace, tx)
            return Outcome(reply="QUEUED", in_transaction=True)
        tx.dirty = True
        self._save_tx(namespace, tx)
        return Outcome(reply=format_reply(ErrorReply(message)), error=True, in_transaction=True)

    def _fingerprints(self, keys: Sequence[bytes]) -> list[str]:
        replies = self._pipeline([c for k in keys for c in (("DUMP", k), ("PEXPIRETIME", k))])
        return [
            hashlib.sha256(repr((replies[2 * i], replies[2 * i + 1])).encode()).hexdigest()
            for i in range(len(keys))
        ]

    def _exec(self, namespace: Namespace, tx: Transaction) -> Outcome:
        # Each command passed the limits alone when queued; together they must too.
        refusal = self._check_batch(namespace, [(self.table.lookup(a), a) for a in tx.queued])
        if refusal:
            return _error(f"EXECABORT Transaction discarded: {refusal}")
        if tx.watched:
            keys = list(tx.watched)
            if self._fingerprints(keys) != list(tx.watched.values()):
                return Outcome(reply=format_reply(None))
        prepared = [self._prepare(namespace, self.table.lookup(a), a) for a in tx.queued]
        commands = [("MULTI",), *[tuple(p[0]) for p in prepared], ("EXEC",)]
        if tx.watched:
            commands = [("WATCH", *tx.watched), *commands]
        replies = self._pipeline(commands)
        result = replies[-1]
        if isinstance(result, list):
            result = [
                namespace.unmap_reply(self.table.lookup(a).name, r)
                for a, r in zip(tx.queued, result, strict=True)
            ]
            written = [n for p in prepared for n in p[1]]
        else:
            written = []
            if isinstance(result, ErrorReply):
                result = namespace.unmap_reply("exec", result)
        return Outcome(
            reply=format_reply(result),
            error=isinstance(result, ErrorReply),
            changed=True,
            written=written,
        )
