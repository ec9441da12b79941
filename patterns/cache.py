"""The bench's cache: the learner's own namespace on the sandbox server.

Every key of a run is `bench:<run>:<name>` inside the learner's namespace
(`sbx:<learner>:bench:<run>:...`), written through the sandbox engine's
`query`, so the keys are mapped by the same code as the learner's own commands
and sent over the sandbox's confined connection (an ACL user that can only
touch `sbx:*`). The bench keeps its own bounds (keys and value sizes are fixed
by the validated workload) and deletes every key it made when the run ends.

The learner can see (and tamper with) these keys from their sandbox while a run
goes on: that only ever changes their own figures, and whatever is read back is
parsed strictly. A run's values are also sealed (an HMAC of the key and value
with a key the learner never sees, `seal`), and a value whose seal does not
match reads as a miss: a learner who writes "version 999" into a cached item
cannot turn stale reads into fresh hits, so a lab checked on the run's figures
sees only what the bench itself wrote.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from learn.sandbox.namespace import Namespace
from learn.sandbox.resp import ErrorReply
from learn.sandbox.runner import Sandbox

DELETE_BATCH = 500
# Every value the bench stores expires by itself well after any run could end,
# so a run cut short (its process killed) cannot leave keys behind for good.
# Patterns "without a TTL" never see it: runs last seconds.
SAFETY_TTL_MS = 15 * 60 * 1000
SEAL_CHARS = 16  # hex digits of the HMAC kept in front of each sealed value


class CacheError(Exception):
    """The sandbox server answered a bench command with an error."""


class BenchCache:
    def __init__(
        self, engine: Sandbox, namespace: Namespace, run_tag: str, seal: bytes | None = None
    ) -> None:
        self.engine = engine
        self.namespace = namespace
        self.base = f"bench:{run_tag}:"
        self.seal = seal
        self._made: set[str] = set()

    def _mark(self, suffix: str, value: bytes) -> bytes:
        mac = hmac.new(self.seal or b"", suffix.encode() + b"\0" + value, hashlib.sha256)
        return mac.hexdigest()[:SEAL_CHARS].encode()

    def name(self, suffix: str) -> str:
        return self.base + suffix

    def full_key(self, suffix: str) -> bytes:
        """The key as the server stores it (for tests and MEMORY USAGE checks)."""
        return self.namespace.key(self.name(suffix).encode())

    def _query(self, *args: str | bytes | int) -> object:
        reply = self.engine.query(
            self.namespace, *[str(a) if isinstance(a, int) else a for a in args]
        )
        if isinstance(reply, ErrorReply):
            raise CacheError(str(reply))
        return reply

    def get(self, suffix: str) -> bytes | None:
        raw = self._query("GET", self.name(suffix))
        if self.seal is None or not isinstance(raw, bytes):
            return raw
        mark, _, value = raw.partition(b"~")
        # Not the bench's own value: the application would not trust it either.
        return value if hmac.compare_digest(mark, self._mark(suffix, value)) else None

    def set(self, suffix: str, value: str, ttl_ms: int | None = None, nx: bool = False) -> bool:
        life = max(1, int(ttl_ms)) if ttl_ms else SAFETY_TTL_MS
        if self.seal is not None:
            value = (self._mark(suffix, value.encode()) + b"~" + value.encode()).decode()
        args: list[str | int] = ["SET", self.name(suffix), value, "PX", life]
        if nx:
            args.append("NX")
        self._made.add(suffix)
        return self._query(*args) is not None

    def delete(self, suffix: str) -> None:
        self._query("DEL", self.name(suffix))

    def push(self, suffix: str, value: str) -> int:
        """RPUSH; returns the list's length as the server counts it."""
        self._made.add(suffix)
        return int(self._query("RPUSH", self.name(suffix), value))

    def pop_many(self, suffix: str, count: int) -> list[bytes]:
        reply = self._query("LPOP", self.name(suffix), count)
        return list(reply) if isinstance(reply, list) else []

    def length(self, suffix: str) -> int:
        return int(self._query("LLEN", self.name(suffix)))

    def memory(self, suffixes: Iterable[str]) -> tuple[int, int]:
        """(bytes, keys): what the server says the given keys take (MEMORY USAGE),
        and how many of them exist (an absent key answers nil)."""
        total = found = 0
        for suffix in suffixes:
            used = self._query("MEMORY", "USAGE", self.name(suffix), "SAMPLES", "0")
            if isinstance(used, int):
                total, found = total + used, found + 1
        return total, found

    def made(self) -> set[str]:
        return set(self._made)

    def cleanup(self) -> int:
        """Delete every key this run may have made; return how many existed."""
        names = sorted(self._made)
        deleted = 0
        for start in range(0, len(names), DELETE_BATCH):
            batch = [self.name(n) for n in names[start : start + DELETE_BATCH]]
            deleted += int(self._query("DEL", *batch))
        return deleted
