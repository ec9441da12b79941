"""Keep: the sandbox's bookkeeping in the *app* Redis.

Per learner: a rate bucket, a blocking budget, the key index (names the
learner wrote, so reset and the key list never scan the server), the open
transaction, the transcript and the Up/Down history. Site-wide: when each
namespace was last active (the idle sweep), the blocking semaphore and the
count of new namespaces per client address. None of it lives beside the
learners' keys, so none of it shows through KEYS, SCAN or TTL.

Everything stored per request is bounded: a transcript entry's fields are
cut to ENTRY_BYTES with a marker, a history line longer than that is not kept
(recalling a cut line would run a different command), and both lists are
capped. The app Redis may be a cluster: a learner's keys share one {hash tag}.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from learn.sandbox.namespace import Namespace
from learn.sandbox.policy import Limits, Refusal

BOOK = "cachelab:sbx:"
ACTIVE = BOOK + "active"  # sorted set: namespace -> last activity (unix time)
BLOCKING = BOOK + "blocking"  # sorted set: running blocking command -> when its lease ends
TRANSCRIPT = 30  # entries the panel shows again after a page load
HISTORY = 100  # commands Up/Down can recall
ENTRY_BYTES = 1024  # the most of one field (command, reply, note) kept per entry
TX_SECONDS = 3600
ORIGIN_WINDOW = 3600  # new namespaces per origin are counted per hour

# A token bucket; a negative cost gives tokens back (never past the burst).
TOKEN_BUCKET = """
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= cost then tokens = math.min(burst, tokens - cost); allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return allowed
"""
# A counting semaphore whose holders lease a slot until a deadline, so a
# worker killed mid-command cannot hold its slot for ever.
SEMAPHORE = """
local now, lease_end, most = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= most then return 0 end
redis.call('ZADD', KEYS[1], lease_end, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(lease_end - now) + 1)
return 1
"""
BLOCK_WINDOW = 60.0  # the blocking budget refills over a minute


def book_key(namespace: Namespace, kind: str) -> str:
    """A bookkeeping key of one learner, e.g. cachelab:sbx:{<learner>}:rate.

    The {hash tag} puts all of a learner's bookkeeping in one cluster slot, so a
    command naming several of them works when the app Redis is a cluster.
    """
    return f"{BOOK}{{{namespace.name}}}:{kind}"


def origin_key(origin: str) -> str:
    digest = hashlib.sha256(origin.encode()).hexdigest()[:32]
    return f"{BOOK}origin:{digest}"


def clip(text: str, most: int = ENTRY_BYTES) -> str:
    """`text` cut to at most `most` UTF-8 bytes (and a marker), whole characters only."""
    raw = text.encode("utf-8", errors="replace")
    if len(raw) <= most:
        return text
    kept = raw[:most].decode("utf-8", errors="ignore")
    return f"{kept}… [{len(raw):,} bytes in all; the rest is not kept]"


@dataclass
class Admission:
    """What the first round trip of a request found out."""

    allowed: bool
    raw_tx: bytes | None = None
    key_count: int | None = None  # None: the app Redis is away
    refusal: Refusal | None = None


class Ledger:
    """Bookkeeping for every learner, in the app Redis."""

    def __init__(self, app, down: tuple[type[BaseException], ...]) -> None:
        self.app = app
        # What "the app Redis is away" looks like: the site's definition, passed in.
        self.down = down

    def index_key(self, namespace: Namespace) -> str:
        return book_key(namespace, "keys")

    def log_key(self, namespace: Namespace) -> str:
        return book_key(namespace, "log")

    def history_key(self, namespace: Namespace) -> str:
        return book_key(namespace, "hist")

    # -- before a command -------------------------------------------------
    def admit(
        self,
        namespace: Namespace,
        limits: Limits,
        origin: str | None = None,
        *,
        bucket: Namespace | None = None,
    ) -> Admission:
        """One round trip: take a token (from `bucket`'s rate bucket, by default
        the namespace's own), note the activity, read any open transaction and
        how many keys the learner's index holds.

        `origin` (an opaque client address) bounds how many new namespaces one
        address may start an hour; a namespace is new when it was not active.
        """
        try:
            now = time.time()
            pipe = self.app.pipeline(transaction=False)
            # EVAL, not a registered script: redis-py's cluster pipelines refuse
            # EVALSHA, and its other pipelines send SCRIPT EXISTS first (a round
            # trip more). One round trip, on a server or a cluster.
            pipe.execute_command(
                "EVAL", TOKEN_BUCKET, 1, book_key(bucket or namespace, "rate"),
                limits.burst, limits.rate, now, 1,
            )  # fmt: skip
            pipe.zscore(ACTIVE, namespace.name)
            pipe.zadd(ACTIVE, {namespace.name: now})
            pipe.get(book_key(namespace, "tx"))
            pipe.scard(self.index_key(namespace))
            allowed, seen, _, raw_tx, key_count = pipe.execute()
            admission = Admission(bool(allowed), raw_tx, key_count)
            if origin is not None and seen is None and allowed:
                admission.refusal = self._count_new(namespace, limits, origin)
            return admission
        except self.down:
            # The app Redis is away: the other bounds still hold.
            return Admission(True)

    def claim(self, namespace: Namespace, limits: Limits, origin: str) -> Refusal | None:
        """Count a namespace as started, against its origin's bound, unless it is active.

        For a learner starting somewhere else than this namespace (a lab, whose
        setup runs before the learner's first command): the learner's own
        namespace is claimed, so one learner counts once however many labs
        they open, and their sandbox later is not new either.
        """
        try:
            if self.app.zscore(ACTIVE, namespace.name) is not None:
                return None
            refusal = self._count_new(namespace, limits, origin)
            if refusal is None:
                self.app.zadd(ACTIVE, {namespace.name: time.time()})
            return refusal
        except self.down:
            return None  # as admit: the other bounds still hold

    def _count_new(self, namespace: Namespace, limits: Limits, origin: str) -> Refusal | None:
        key = origin_key(origin)
        pipe = self.app.pipeline(transaction=False)
        pipe.set(key, 0, ex=ORIGIN_WINDOW, nx=True).incr(key)
        started = pipe.execute()[1]
        if started <= limits.new_per_origin:
            return None
        # Still new next time: a refused namespace does not become an active one.
        self.app.zrem(ACTIVE, namespace.name)
        return Refusal(
            f"your network has started {limits.new_per_origin} new sandboxes this hour, the most "
            "the shared sandbox allows. Keep using the one you have (cookies on), or try again "
            "in an hour."
        )

    def take_blocking(self, namespace: Namespace, limits: Limits, seconds: float) -> str | Refusal:
        """Lease a site-wide slot for a blocking command and pay its wait from the
        learner's budget; the lease token, or why not. Fails closed: without the
        app Redis there is no count of blocked workers, so nothing blocks."""
        token = uuid.uuid4().hex
        now = time.time()
        try:
            # One round trip for both; whichever was granted is given back if
            # the other was not.
            pipe = self.app.pipeline(transaction=False)
            pipe.execute_command(
                "EVAL", TOKEN_BUCKET, 1, book_key(namespace, "block"),
                limits.block_budget, limits.block_budget / BLOCK_WINDOW, now, seconds,
            )  # fmt: skip
            pipe.execute_command(
                "EVAL", SEMAPHORE, 1, BLOCKING, now, now + seconds + 5,
                limits.blocking_at_once, token,
            )  # fmt: skip
            budget, slot = pipe.execute()
        except self.down:
            return Refusal(
                "blocking commands need the sandbox's limits, which are away. Try again soon."
            )
        if budget and slot:
            return token
        self.release_blocking(namespace, limits, token if slot else None, seconds if budget else 0)
        if not budget:
            return Refusal(
                f"blocking commands may wait {limits.block_budget:g} s a minute in all for "
                "each learner, and you have used that up. Try again in a minute, or give a "
                "shorter timeout."
            )
        return Refusal(
            "the shared sandbox is already running as many waiting (blocking) commands as "
            "it can. Try again in a moment, or use the non-blocking form (LPOP for BLPOP)."
        )

    def release_blocking(
        self, namespace: Namespace, limits: Limits, token: str | None, unused: float
    ) -> None:
        """Give the slot back, and the seconds not spent waiting back to the budget."""
        with contextlib.suppress(*self.down):
            pipe = self.app.pipeline(transaction=False)
            if token:
                pipe.zrem(BLOCKING, token)
            if unused > 0:
                pipe.execute_command(
                    "EVAL", TOKEN_BUCKET, 1, book_key(namespace, "block"),
                    limits.block_budget, limits.block_budget / BLOCK_WINDOW, time.time(), -unused,
                )  # fmt: skip
            pipe.execute()

    # -- after a command --------------------------------------------------
    def record(
        self,
        namespace: Namespace,
        limits: Limits,
        written: Sequence[bytes],
        entry: dict | None,
    ) -> None:
        """Index the keys a command wrote; keep the transcript entry and history line."""
        if not written and entry is None:
            return
        pipe = self.app.pipeline(transaction=False)
        if written:
            index = self.index_key(namespace)
            pipe.sadd(index, *written).expire(index, limits.idle_seconds * 2)
        if entry is not None:
            line = entry["command"]
            kept = {
                field: clip(value) if isinstance(value, str) else value
                for field, value in entry.items()
            }
            log, history = self.log_key(namespace), self.history_key(namespace)
            pipe.rpush(log, json.dumps(kept, ensure_ascii=False))
            pipe.ltrim(log, -TRANSCRIPT, -1).expire(log, limits.idle_seconds)
            if len(line.encode("utf-8", errors="replace")) <= ENTRY_BYTES:
                pipe.rpush(history, line).ltrim(history, -HISTORY, -1)
                pipe.expire(history, limits.idle_seconds)
        with contextlib.suppress(*self.down):
            pipe.execute()  # bookkeeping only: the command itself has run

    def add_to_index(self, namespace: Namespace, names: Iterable[bytes], limits: Limits) -> None:
        names = list(names)
        if not names:
            return
        index = self.index_key(namespace)
        pipe = self.app.pipeline(transaction=False)
        pipe.sadd(index, *names).expire(index, limits.idle_seconds * 2)
        pipe.zadd(ACTIVE, {namespace.name: time.time()})
        pipe.execute()

    # -- reading and forgetting -----------------------------------------------
    def names(self, namespace: Namespace) -> set[bytes] | None:
        """The learner's key index; None when the app Redis is away."""
        try:
            return self.app.smembers(self.index_key(namespace))
        except self.down:
            return None

    def indexed(self, namespace: Namespace) -> bool | None:
        """Whether the index exists at all (None: the app Redis is away)."""
        try:
            return bool(self.app.exists(self.index_key(namespace)))
        except self.down:
            return None

    def count(self, namespace: Namespace) -> int | None:
        try:
            return self.app.scard(self.index_key(namespace))
        except self.down:
            return None

    def unindex(self, namespace: Namespace, names: Sequence[bytes]) -> None:
        if names:
            with contextlib.suppress(*self.down):
                self.app.srem(self.index_key(namespace), *names)

    def forget(self, namespace: Namespace, *, retire: bool) -> None:
        """Drop the index and open transaction of a namespace just emptied.

        retire=True (the idle sweep) also drops it from the active set; a learner's
        own reset keeps it there, so using the sandbox again is not a new one.
        """
        # Bookkeeping only: with the app Redis away the keys are still gone, and
        # an index entry left behind is pruned when counted.
        with contextlib.suppress(*self.down):
            pipe = self.app.pipeline(transaction=False)
            pipe.delete(self.index_key(namespace), book_key(namespace, "tx"))
            if retire:
                # Not on a learner's own reset: emptying the sandbox must not refill
                # the rate bucket or the blocking budget.
                pipe.delete(book_key(namespace, "rate"), book_key(namespace, "block"))
                pipe.zrem(ACTIVE, namespace.name)
            pipe.execute()

    def save_tx(self, namespace: Namespace, raw: str | None) -> None:
        key = book_key(namespace, "tx")
        if raw is None:
            self.app.delete(key)
        else:
            self.app.set(key, raw, ex=TX_SECONDS)

    def idle(self, before: float, batch: int) -> list[Namespace]:
        """Namespaces last active before `before`, oldest first."""
        try:
            names = self.app.zrangebyscore(ACTIVE, "-inf", before, start=0, num=batch)
        except self.down:
            return []  # housekeeping waits for the app Redis
        return [Namespace(name.decode()) for name in names]
