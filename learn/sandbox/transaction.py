"""Emulate: MULTI / EXEC / WATCH typed over several requests.

Each request runs on whichever pooled connection is free, so a transaction
cannot stay open on the server between them. Its state (queued commands,
watched keys' fingerprints, whether an error has doomed it) is kept in the
app Redis (ledger.py), bounded by the policy's check_queue, and at EXEC the
whole of it is sent at once: WATCH, MULTI, the queue, EXEC.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from learn.sandbox.cli import format_reply
from learn.sandbox.commands import CommandInfo
from learn.sandbox.namespace import Namespace
from learn.sandbox.outcome import Outcome, error
from learn.sandbox.policy import Refusal, arity_ok
from learn.sandbox.resp import ErrorReply

if TYPE_CHECKING:
    from learn.sandbox.runner import Engine

CONTROL = frozenset({"multi", "exec", "discard", "watch", "unwatch"})


@dataclass
class Transaction:
    """MULTI ... EXEC typed over several requests, kept in the app Redis."""

    multi: bool = False
    dirty: bool = False
    queued: list[list[bytes]] = field(default_factory=list)
    watched: dict[bytes, str] = field(default_factory=dict)

    def dumps(self) -> str:
        # latin-1 maps every byte to one character; ensure_ascii=False keeps
        # each at most two bytes stored (not six, as \u00ff).
        return json.dumps(
            {
                "multi": self.multi,
                "dirty": self.dirty,
                "queued": [[a.decode("latin-1") for a in args] for args in self.queued],
                "watched": {k.decode("latin-1"): v for k, v in self.watched.items()},
            },
            ensure_ascii=False,
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


def save(engine: Engine, namespace: Namespace, tx: Transaction) -> None:
    engine.ledger.save_tx(namespace, tx.dumps() if tx.active else None)


def control(
    engine: Engine, namespace: Namespace, tx: Transaction, name: str, args: list[bytes]
) -> Outcome:
    """MULTI, EXEC, DISCARD, WATCH and UNWATCH, answered as the server would."""
    keys = engine.target.mapping(namespace)
    if name == "multi":
        if tx.multi:
            return error("ERR MULTI calls can not be nested", in_transaction=True)
        tx.multi = True
        save(engine, namespace, tx)
        return Outcome(reply="OK", in_transaction=True)
    if name == "discard":
        if not tx.multi:
            return error("ERR DISCARD without MULTI")
        save(engine, namespace, Transaction())
        return Outcome(reply="OK")
    if name == "watch":
        if tx.multi:
            return error("ERR WATCH inside MULTI is not allowed", in_transaction=True)
        if len(args) < 2:
            return error("ERR wrong number of arguments for 'watch' command")
        mapped = [keys.key(k) for k in args[1:]]
        tx.watched.update(zip(mapped, _fingerprints(engine, mapped), strict=True))
        save(engine, namespace, tx)
        return Outcome(reply="OK")
    if name == "unwatch":
        if tx.multi:
            return queue(engine, namespace, tx, engine.table.lookup(args), args, None)
        tx.watched = {}
        save(engine, namespace, tx)
        return Outcome(reply="OK")
    # EXEC
    if not tx.multi:
        return error("ERR EXEC without MULTI")
    save(engine, namespace, Transaction())
    if tx.dirty:
        return error("EXECABORT Transaction discarded because of previous errors.")
    return _exec(engine, namespace, tx)


def queue(
    engine: Engine,
    namespace: Namespace,
    tx: Transaction,
    info: CommandInfo | None,
    args: list[bytes],
    refusal: Refusal | None,
) -> Outcome:
    """Queue a command typed inside MULTI, or doom the transaction with the reason."""
    shown = args[0].decode("utf-8", errors="replace")
    refusal = refusal or engine.target.policy.check_queue(tx.queued, args)
    if refusal is None and info is None:
        beginning = " ".join(f"'{a.decode('utf-8', errors='replace')}'" for a in args[1:])
        message = f"ERR unknown command '{shown}', with args beginning with: {beginning}"
    elif refusal is None and not arity_ok(info, len(args)):
        message = f"ERR wrong number of arguments for '{info.name}' command"
    elif refusal is None and info.name in engine.target.emulated:
        message = f"ERR {shown.upper()} cannot be queued in the sandbox; run it outside MULTI."
    elif refusal is not None:
        message = f"ERR {refusal}"
    else:
        tx.queued.append(args)
        save(engine, namespace, tx)
        return Outcome(reply="QUEUED", in_transaction=True)
    tx.dirty = True
    save(engine, namespace, tx)
    return error(message, in_transaction=True)


def _fingerprints(engine: Engine, keys: Sequence[bytes]) -> list[str]:
    replies = engine.target.server.pipeline(
        [c for k in keys for c in (("DUMP", k), ("PEXPIRETIME", k))]
    )
    return [
        hashlib.sha256(repr((replies[2 * i], replies[2 * i + 1])).encode()).hexdigest()
        for i in range(len(keys))
    ]


def _exec(engine: Engine, namespace: Namespace, tx: Transaction) -> Outcome:
    keys = engine.target.mapping(namespace)
    lookup = engine.table.lookup
    # Each command passed the limits alone when queued; together they must too.
    refusal = engine.check_batch(namespace, [(lookup(a), a) for a in tx.queued])
    if refusal:
        return error(f"EXECABORT Transaction discarded: {refusal}")
    if tx.watched:
        watched = list(tx.watched)
        if _fingerprints(engine, watched) != list(tx.watched.values()):
            return Outcome(reply=format_reply(None))
    prepared = [engine.prepare(keys, lookup(a), a) for a in tx.queued]
    commands = [("MULTI",), *[tuple(p[0]) for p in prepared], ("EXEC",)]
    if tx.watched:
        commands = [("WATCH", *tx.watched), *commands]
    replies = engine.target.server.pipeline(commands)
    result = replies[-1]
    if isinstance(result, list):
        result = [
            keys.unmap_reply(lookup(a).name, r) for a, r in zip(tx.queued, result, strict=True)
        ]
        written = [n for p in prepared for n in p[1]]
    else:
        written = []
        if isinstance(result, ErrorReply):
            # A queued write the full server refused (OOM) aborts EXEC: say why.
            full = any(isinstance(r, ErrorReply) and r.startswith("OOM") for r in replies)
            result = engine.full_reply() if full else keys.unmap_reply("exec", result)
    return Outcome(
        reply=format_reply(result),
        error=isinstance(result, ErrorReply),
        changed=True,
        written=written,
    )
