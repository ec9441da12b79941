"""Replies exactly as the server sent them.

redis-py turns `+OK` and `$2\r\nOK` into the same bytes and raises errors; a
terminal that prints like redis-cli must tell them apart. This parser keeps the
reply's kind: Status for simple strings, ErrorReply for errors (returned, not
raised, so an error inside EXEC stays in its place), bytes for bulk strings,
int, None and lists.
"""

from __future__ import annotations

# Private on purpose, and pinned: redis-py has no public parser hook. Its
# public replies lose the kind (`+OK` and `$2 OK` are the same bytes, with
# RESP3 too) and raise errors instead of returning them, and `parser_class`
# only takes its own parser classes, all in the private `redis._parsers`.
# Writing a RESP client of our own would cost more than this one subclass.
# tests/sandbox/test_resp.py fails loudly if an upgrade moves or changes it.
from redis._parsers.resp2 import _RESP2Parser
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse
from redis.utils import SENTINEL


class Status(bytes):
    """A simple-string reply such as +OK or +QUEUED: redis-cli prints it bare."""


class ErrorReply(str):
    """An error reply, exactly as the server wrote it (e.g. 'ERR syntax error')."""


Reply = Status | ErrorReply | bytes | int | None | list


class ReplyParser(_RESP2Parser):
    def _read_response(self, disable_decoding: bool = False, timeout: object = SENTINEL) -> Reply:
        line = self._buffer.readline(timeout=timeout)
        if not line:
            raise RedisConnectionError("Connection closed by server.")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return Status(rest)
        if kind == b"-":
            return ErrorReply(rest.decode("utf-8", errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            return None if rest == b"-1" else self._buffer.read(int(rest), timeout=timeout)
        if kind == b"*":
            if rest == b"-1":
                return None
            return [self._read_response(timeout=timeout) for _ in range(int(rest))]
        raise InvalidResponse(f"Protocol error: {line[:40]!r}")
