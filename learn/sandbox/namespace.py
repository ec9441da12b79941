"""Map: a learner's namespace, the prefix every one of their keys lives under.

On the shared server every key argument is mapped into the namespace and
replies are mapped back (`Namespace`). A private target maps nothing
(`Unmapped`); both answer the `KeyMapping` methods the pipeline uses.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from learn.sandbox.resp import ErrorReply, Reply

ROOT = b"sbx:"
GLOB_SPECIAL = b"*?[]\\"

# Commands whose replies name keys, and where (a key cannot be found in a
# reply by the server's metadata, so these are listed).
POP_WITH_KEY = {"blpop", "brpop", "bzpopmin", "bzpopmax", "lmpop", "blmpop", "zmpop", "bzmpop"}
STREAM_READS = {"xread", "xreadgroup"}
CHANNEL_ARGS = {"publish": 1}  # pub/sub channels are not keys, so no key spec marks them


def namespace_for(secret: str, learner_id: str) -> str:
    """Derived on the server from the learner id and a secret: unguessable, stable."""
    digest = hmac.new(secret.encode(), f"sandbox:{learner_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


def glob_escape(value: bytes) -> bytes:
    return b"".join(b"\\" + bytes([c]) if c in GLOB_SPECIAL else bytes([c]) for c in value)


class KeyMapping(Protocol):
    """How a target names a learner's keys on its server."""

    name: str

    def key(self, name: bytes) -> bytes: ...

    def strip(self, name: bytes) -> bytes: ...

    def pattern(self, learner_pattern: bytes = b"*") -> bytes: ...

    def map_args(
        self, args: Sequence[bytes], positions: Sequence[int], name: str
    ) -> list[bytes]: ...

    def unmap_reply(self, name: str, reply: Reply) -> Reply: ...


@dataclass(frozen=True)
class Namespace:
    name: str

    @property
    def prefix(self) -> bytes:
        return ROOT + self.name.encode() + b":"

    def key(self, name: bytes) -> bytes:
        return self.prefix + name

    def strip(self, name: bytes) -> bytes:
        return name[len(self.prefix) :] if name.startswith(self.prefix) else name

    def pattern(self, learner_pattern: bytes = b"*") -> bytes:
        return glob_escape(self.prefix) + learner_pattern

    def map_args(self, args: Sequence[bytes], positions: Sequence[int], name: str) -> list[bytes]:
        mapped = list(args)
        for i in positions:
            mapped[i] = self.key(args[i])
        channel = CHANNEL_ARGS.get(name)
        if channel is not None and len(args) > channel:
            mapped[channel] = self.key(args[channel])
        return mapped

    def unmap_reply(self, name: str, reply: Reply) -> Reply:
        if isinstance(reply, ErrorReply):
            return ErrorReply(reply.replace(self.prefix.decode("latin-1"), ""))
        if not isinstance(reply, list) or not reply:
            return reply
        if name in POP_WITH_KEY and isinstance(reply[0], bytes):
            return [self.strip(reply[0]), *reply[1:]]
        if name in STREAM_READS:
            return [
                [self.strip(item[0]), *item[1:]] if isinstance(item, list) and item else item
                for item in reply
            ]
        return reply


@dataclass(frozen=True)
class Unmapped:
    """A private target's mapping: the learner's own server, every name as typed.

    `name` still identifies the learner for the bookkeeping (rate limits).
    """

    name: str

    def key(self, name: bytes) -> bytes:
        return name

    def strip(self, name: bytes) -> bytes:
        return name

    def pattern(self, learner_pattern: bytes = b"*") -> bytes:
        return learner_pattern

    def map_args(self, args: Sequence[bytes], positions: Sequence[int], name: str) -> list[bytes]:
        return list(args)

    def unmap_reply(self, name: str, reply: Reply) -> Reply:
        return reply
