"""Emulate: KEYS, SCAN, DBSIZE and RANDOMKEY narrowed to one learner's namespace.

On the shared server these would see every learner's keys (the ACL user may
not run DBSIZE or RANDOMKEY at all), so the engine answers them itself with
SCAN ... MATCH <the learner's prefix>, in a bounded number of rounds so one
request cannot hold the server. A private target runs them natively.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from learn.sandbox.cli import format_reply
from learn.sandbox.commands import CommandInfo
from learn.sandbox.namespace import Namespace
from learn.sandbox.outcome import Outcome, error
from learn.sandbox.policy import arity_ok
from learn.sandbox.resp import ErrorReply, Reply

EMULATED = frozenset({"keys", "scan", "dbsize", "randomkey"})
SCAN_BATCH = 1000
SCAN_ROUNDS = 200  # bounds one request's scanning, so one learner cannot hold the server

Call = Callable[..., Reply]


def scan_batches(
    call: Call, pattern: bytes, rounds: int | None = SCAN_ROUNDS, kind: bytes | None = None
) -> Iterator[list[bytes]]:
    """Batches of key names matching `pattern`, for at most `rounds` SCAN calls."""
    cursor, done = b"0", 0
    while True:
        command = ["SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_BATCH]
        if kind:
            command += ["TYPE", kind]
        reply = call(*command)
        if isinstance(reply, ErrorReply):
            return
        cursor, found = reply
        if found:
            yield found
        done += 1
        if cursor == b"0" or (rounds is not None and done >= rounds):
            return


def emulate(call: Call, namespace: Namespace, info: CommandInfo, args: list[bytes]) -> Outcome:
    name = info.name
    if not arity_ok(info, len(args)):
        return error(f"ERR wrong number of arguments for '{name}' command")
    if name == "scan":
        return _scan(call, namespace, args)
    if name == "keys":
        found = [k for batch in scan_batches(call, namespace.pattern(args[1])) for k in batch]
        return Outcome(reply=format_reply([namespace.strip(k) for k in found]))
    found = [k for batch in scan_batches(call, namespace.pattern()) for k in batch]
    if name == "dbsize":
        return Outcome(reply=format_reply(len(found)))
    choice = namespace.strip(random.choice(found)) if found else None
    return Outcome(reply=format_reply(choice))


def _scan(call: Call, namespace: Namespace, args: list[bytes]) -> Outcome:
    try:
        cursor = int(args[1])
        if cursor < 0:
            raise ValueError
    except ValueError:
        return error("ERR invalid cursor")
    pattern, count, kind = b"*", 10, None
    options = args[2:]
    if len(options) % 2:
        return error("ERR syntax error")
    for option, value in zip(options[::2], options[1::2], strict=True):
        word = option.upper()
        if word == b"MATCH":
            pattern = value
        elif word == b"COUNT":
            try:
                count = int(value)
            except ValueError:
                return error("ERR value is not an integer or out of range")
            if count < 1:
                return error("ERR syntax error")
        elif word == b"TYPE":
            kind = value
        else:
            return error("ERR syntax error")
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
        reply = call(*command)
        if isinstance(reply, ErrorReply):
            return Outcome(reply=format_reply(namespace.unmap_reply("scan", reply)), error=True)
        current, batch = reply
        found.extend(namespace.strip(k) for k in batch)
        if current == b"0" or len(found) >= count:
            break
    return Outcome(reply=format_reply([current, found]))
