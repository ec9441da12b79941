"""Keep: the console's bookkeeping in the *app* Redis, never beside learners' items.

Per learner (one {hash tag}, so a cluster keeps it in one slot): a rate
bucket (the Redis sandbox's token bucket), the index of keys the learner
wrote (so quotas, `stats` and "Delete my keys" never need a scan, which
memcached cannot do anyway), and the transcript the page shows again.
Every entry kept is bounded (fields cut to 1 KB, the last 30 entries).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from learn.sandbox.ledger import TOKEN_BUCKET, clip
from memcache.console.fence import Prefix

BOOK = "cachelab:mc:"
TRANSCRIPT = 30


def book_key(prefix: Prefix, kind: str) -> str:
    return f"{BOOK}{{{prefix.name}}}:{kind}"


class Ledger:
    def __init__(self, app, *, burst: int, rate: float, idle_seconds: int = 24 * 3600) -> None:
        self.app = app
        self.burst, self.rate, self.idle_seconds = burst, rate, idle_seconds

    def admit(self, prefix: Prefix) -> tuple[bool, set[bytes]]:
        """One round trip: take a rate token and read the key index.

        Raises when the app Redis is away: without it there are no limits, and
        the console refuses rather than run unbounded.
        """
        pipe = self.app.pipeline(transaction=False)
        pipe.execute_command(
            "EVAL", TOKEN_BUCKET, 1, book_key(prefix, "rate"),
            self.burst, self.rate, time.time(), 1,
        )  # fmt: skip
        pipe.smembers(book_key(prefix, "keys"))
        allowed, names = pipe.execute()
        return bool(allowed), set(names)

    def names(self, prefix: Prefix) -> set[bytes]:
        return set(self.app.smembers(book_key(prefix, "keys")))

    def record(
        self,
        prefix: Prefix,
        *,
        written: Iterable[bytes] = (),
        removed: Iterable[bytes] = (),
        entry: dict | None = None,
    ) -> None:
        written, removed = list(written), list(removed)
        pipe = self.app.pipeline(transaction=False)
        index = book_key(prefix, "keys")
        if written:
            pipe.sadd(index, *written).expire(index, self.idle_seconds)
        if removed:
            pipe.srem(index, *removed)
        if entry is not None:
            log = book_key(prefix, "log")
            kept = {k: clip(v) if isinstance(v, str) else v for k, v in entry.items()}
            pipe.rpush(log, json.dumps(kept, ensure_ascii=False))
            pipe.ltrim(log, -TRANSCRIPT, -1).expire(log, self.idle_seconds)
        pipe.execute()

    def transcript(self, prefix: Prefix) -> list[dict]:
        return [json.loads(e) for e in self.app.lrange(book_key(prefix, "log"), 0, -1)]

    def forget(self, prefix: Prefix) -> None:
        self.app.delete(book_key(prefix, "keys"))

    def clear_transcript(self, prefix: Prefix) -> None:
        self.app.delete(book_key(prefix, "log"))
