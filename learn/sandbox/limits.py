"""Bound: the limits a command can only be held to by asking the server.

- the key quota: how many keys a learner holds (their index, in the app
  Redis, pruned of keys since deleted or expired before refusing);
- value sizes: what a key holds now (MEMORY USAGE) plus everything a write
  may pour into it, so no APPEND, union or copy grows a key past the limit;
- room on the shared server: when its memory is nearly full, writes that
  grow it are refused with a clear message rather than the server evicting
  anybody's keys (it runs `noeviction`), and idle namespaces are swept first.

The policy's own checks of a command's arguments (policy.py) run here too,
because they need the key positions, which may ask the server (COMMAND GETKEYS).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from learn.sandbox.commands import CommandInfo, UnmappableKeys
from learn.sandbox.namespace import Namespace
from learn.sandbox.policy import UNMAPPABLE, Limits, Refusal

if TYPE_CHECKING:
    from learn.sandbox.runner import Engine

Write = tuple[CommandInfo, list[bytes], list[int]]

FULL = Refusal(
    "the sandbox is full: it is shared by every learner and has no room for new data right "
    "now. Your keys are safe, and reading and deleting still work; delete keys you no longer "
    "need (DEL, or “Reset my sandbox”) and try again later."
)


def check_batch(
    engine: Engine,
    namespace: Namespace,
    commands: Sequence[tuple[CommandInfo | None, list[bytes]]],
    key_count: int | None = None,
) -> Refusal | None:
    """The limits for one command, or a whole queued transaction taken together."""
    policy = engine.target.policy
    writes: list[Write] = []
    for info, args in commands:
        if info is None:
            continue
        try:
            positions = engine.table.key_positions(info, args)
        except UnmappableKeys:
            return UNMAPPABLE
        refusal = policy.check_arguments(info, args, positions)
        if refusal:
            return refusal
        if info.has("write") and positions:
            writes.append((info, args, positions))
    if not writes:
        return None
    if any(info.has("denyoom") for info, _, _ in writes):
        refusal = check_room(engine)
        if refusal:
            return refusal
    if not engine.target.quota:
        return None
    return _check_quota(engine, namespace, writes, policy.limits, key_count)


def check_room(engine: Engine) -> Refusal | None:
    """Refuse new data while the shared server is nearly full (idle learners go first)."""
    limits, server = engine.target.policy.limits, engine.target.server
    reading = server.memory()
    # A reading a moment old is good enough far from full; near it, ask again.
    if reading and reading[0] >= reading[1] * limits.full_fraction * 0.8:
        reading = server.memory(fresh=True)
    for attempt in range(2):
        if reading is None:
            return None  # unbounded, or unknown: the server's own noeviction refusal holds
        used, most = reading
        if used < most * limits.full_fraction:
            return None
        if attempt or not engine.sweep_idle(idle_seconds=limits.full_idle_seconds):
            break  # nobody idle to make room
        reading = server.memory(fresh=True)
    return FULL


def _check_quota(
    engine: Engine,
    namespace: Namespace,
    writes: Sequence[Write],
    limits: Limits,
    key_count: int | None,
) -> Refusal | None:
    keys = engine.target.mapping(namespace)
    names = list(dict.fromkeys(args[i] for _, args, positions in writes for i in positions))
    grows = any(info.has("denyoom") for info, _, _ in writes)
    checks = [("EXISTS", keys.key(n)) for n in names]
    if grows:
        checks += [("MEMORY", "USAGE", keys.key(n), "SAMPLES", "0") for n in names]
    replies = engine.target.server.pipeline(checks)
    missing = sum(1 for r in replies[: len(names)] if r == 0)
    if grows:
        usage = {
            n: u if isinstance(u, int) else 0
            for n, u in zip(names, replies[len(names) :], strict=True)
        }
        refusal = _check_sizes(engine.table.read_only_positions, writes, usage, limits)
        if refusal:
            return refusal
    # The index may hold keys since deleted or expired: prune before refusing.
    if missing and key_count is None:
        key_count = key_total(engine, namespace, prune=False)
    over = missing and key_count + missing > limits.keys
    if over and key_total(engine, namespace, prune=True) + missing > limits.keys:
        return Refusal(
            f"your sandbox may hold at most {limits.keys} keys, and this would make "
            "more. Delete some (DEL key) or press “Reset my sandbox”."
        )
    return None


def _check_sizes(
    read_only_positions: Callable[[CommandInfo, list[bytes]], list[int]],
    writes: Sequence[Write],
    usage: dict[bytes, int],
    limits: Limits,
) -> Refusal | None:
    """Bound every key a command may grow: what it holds, plus what flows in.

    Into each key a command writes flow its non-key arguments and the whole of
    the keys it only reads (SUNIONSTORE, COPY, SORT ... STORE): an upper bound,
    so no union or copy can slip past the limit.
    """
    most = limits.key_bytes
    added: dict[bytes, int] = {}
    for info, args, positions in writes:
        if not info.has("denyoom"):
            continue
        sources = set(read_only_positions(info, args))
        inflow = sum(len(a) for i, a in enumerate(args[1:], 1) if i not in positions)
        inflow += sum(usage.get(args[i], 0) for i in sources)
        if inflow > most:
            return Refusal(
                f"that is more than {most // 1024} KiB of data for one key, "
                "the most a sandbox key may hold."
            )
        for i in positions:
            if i not in sources:
                added[args[i]] = added.get(args[i], 0) + inflow
    for name, extra in added.items():
        if usage.get(name, 0) + extra > most:
            return Refusal(
                f"'{name.decode(errors='replace')}' would grow past {most // 1024} KiB, "
                "the most a sandbox key may hold."
            )
    return None


def key_total(engine: Engine, namespace: Namespace, prune: bool) -> int:
    """How many keys the learner holds, by their index (pruned of gone keys if asked)."""
    ledger = engine.ledger
    if not prune:
        return ledger.count(namespace) or 0
    names = ledger.names(namespace)
    if names is None:
        return 0  # the app Redis is away: no index to count, the other bounds hold
    names = list(names)
    keys = engine.target.mapping(namespace)
    exists = engine.target.server.pipeline([("EXISTS", keys.key(n)) for n in names])
    gone = [n for n, e in zip(names, exists, strict=True) if e == 0]
    ledger.unindex(namespace, gone)
    return len(names) - len(gone)
