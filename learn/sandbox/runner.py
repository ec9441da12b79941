"""Run: one learner's command line through the pipeline, against a target.

The stages and their order are in the package docstring; this module only
calls them. A `Target` is what a line runs against: the server connection,
the policy, how the learner's keys are named there, which commands the engine
answers itself and whether the key quota applies. `Sandbox` is the shared,
namespaced server every learner uses; a private target (a learner's own
server, in the labs) is another `Target` given to `Engine`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import redis

from learn.sandbox import keyspace, transaction
from learn.sandbox import limits as bounds
from learn.sandbox.cli import InvalidArguments, format_reply, split_args
from learn.sandbox.commands import CommandInfo, CommandTable
from learn.sandbox.connection import SANDBOX_USER, SERVER_AWAY, Connection, SandboxUnavailable
from learn.sandbox.help import help_text
from learn.sandbox.keyspace import EMULATED
from learn.sandbox.ledger import BOOK, Ledger, book_key
from learn.sandbox.namespace import KeyMapping, Namespace
from learn.sandbox.outcome import KeyRow, Outcome, error
from learn.sandbox.policy import Limits, Policy, Refusal, SharedPolicy, clamp_blocking, may_block
from learn.sandbox.resp import ErrorReply, Reply
from learn.sandbox.transaction import Transaction

__all__ = [
    "BOOK",
    "SANDBOX_USER",
    "Engine",
    "KeyRow",
    "Outcome",
    "Sandbox",
    "SandboxUnavailable",
    "Target",
    "Transaction",
    "book_key",
]
SWEEP_CHANCE = 1 / 500  # share of commands that also clear a few idle namespaces
UNLINK_BATCH = 500


def _same(namespace: Namespace) -> KeyMapping:
    return namespace


@dataclass
class Target:
    """What a line runs against."""

    server: Connection
    policy: Policy
    # The learner's key names on this server: their namespace on the shared one.
    mapping: Callable[[Namespace], KeyMapping] = _same
    # Commands the engine answers itself here (keyspace.py), not the server.
    emulated: frozenset[str] = EMULATED
    # Whether the learner's key quota (and so their key index) bounds writes.
    quota: bool = True
    table: CommandTable = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.table = CommandTable(self.server.call)


class Engine:
    """The pipeline, run for one target with its bookkeeping in the app Redis."""

    def __init__(self, target: Target, ledger: Ledger) -> None:
        self.target = target
        self.ledger = ledger
        self.app = ledger.app

    @property
    def limits(self) -> Limits:
        return self.target.policy.limits

    @limits.setter
    def limits(self, value: Limits) -> None:
        self.target.policy = dataclasses.replace(self.target.policy, limits=value)

    @property
    def table(self) -> CommandTable:
        return self.target.table

    def ensure_ready(self) -> None:
        self.target.server.ensure_ready()

    def index_key(self, namespace: Namespace) -> str:
        return self.ledger.index_key(namespace)

    def log_key(self, namespace: Namespace) -> str:
        return self.ledger.log_key(namespace)

    def history_key(self, namespace: Namespace) -> str:
        return self.ledger.history_key(namespace)

    # -- the public surface ------------------------------------------------
    def run(
        self,
        namespace: Namespace,
        line: str,
        *,
        record: bool = False,
        origin: str | None = None,
        bucket: Namespace | None = None,
    ) -> Outcome:
        """Run one command line for a learner; never raises for bad input.

        record=True also keeps the line and its reply in the learner's transcript
        and Up/Down history (the panel's), in the same round trip as the rest of
        the bookkeeping. `origin` (an opaque client address) bounds how many new
        namespaces one address may start. `bucket` is the namespace whose rate
        bucket pays for the line (default: `namespace`), so a learner's labs and
        free sandbox share one rate limit.
        """
        outcome = self._run(namespace, line, learner=record, origin=origin, bucket=bucket)
        entry = None
        if record and not outcome.refused_new:
            entry = {
                "command": line,
                "reply": outcome.reply,
                "error": outcome.error,
                "note": outcome.note,
            }
        self.ledger.record(namespace, self.limits, outcome.written, entry)
        return outcome

    def claim(self, namespace: Namespace, origin: str) -> str:
        """Before a learner starts somewhere their first command does not reach
        (a lab): count their `namespace` as started by `origin`; "" if it may
        be, else why not."""
        refusal = self.ledger.claim(namespace, self.limits, origin)
        return f"ERR {refusal}" if refusal else ""

    def _run(
        self,
        namespace: Namespace,
        line: str,
        *,
        learner: bool,
        origin: str | None,
        bucket: Namespace | None = None,
    ) -> Outcome:
        self.ensure_ready()
        policy = self.target.policy
        # Every request pays a token first, whatever it holds: an oversized line too.
        admission = self.ledger.admit(
            namespace, self.limits, origin if learner else None, bucket=bucket
        )
        if admission.key_count is None and learner:
            # The rate limit and key quota live in the app Redis: without it a
            # learner's commands would run unbounded, so the panel waits for it.
            # Graders' scratch runs go on (one answer each, deleted at once).
            raise SandboxUnavailable("the app Redis holding the sandbox limits is unavailable")
        if not admission.allowed:
            return error(
                "ERR slow down: the sandbox runs at most "
                f"{self.limits.rate:g} commands a second per learner. Try again in a moment."
            )
        if admission.refusal:
            return dataclasses.replace(error(f"ERR {admission.refusal}"), refused_new=True)
        raw = line.encode("utf-8", errors="replace")
        refusal = policy.check_line(raw)
        if refusal:
            return error(f"ERR {refusal}")
        try:
            args = split_args(raw)
        except InvalidArguments as exc:
            return Outcome(reply=str(exc), error=True)
        if not args:
            return Outcome(reply="")
        if random.random() < SWEEP_CHANCE:
            self.sweep_idle()  # a little housekeeping as the site goes (also: sandbox_sweep)
        name = args[0].decode("utf-8", errors="replace").lower()
        if name == "help":
            return Outcome(reply=help_text(self.target.server.call, args[1:]))
        tx = Transaction.loads(admission.raw_tx)
        if name in transaction.CONTROL:
            return transaction.control(self, namespace, tx, name, args)
        info = self.table.lookup(args)
        refusal = policy.check_command(info, args) or self.check_batch(
            namespace, [(info, args)], admission.key_count
        )
        if tx.multi:
            return transaction.queue(self, namespace, tx, info, args, refusal)
        if refusal:
            return error(f"ERR {refusal}")
        keys = self.target.mapping(namespace)
        if info is not None and info.name in self.target.emulated:
            return keyspace.emulate(self.target.server.call, keys, info, args)
        return self._execute(namespace, keys, info, args)

    def query(self, namespace: Namespace, *args: str | bytes) -> Reply:
        """Run a command for the server's own use (graders): keys mapped, reply raw.

        No policy or rate limit: callers are code, not learners.
        """
        self.ensure_ready()
        encoded = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        info = self.table.lookup(encoded)
        keys = self.target.mapping(namespace)
        mapped, _, _ = self.prepare(keys, info, encoded)
        return keys.unmap_reply(info.name if info else "", self.target.server.call(*mapped))

    def reset(self, namespace: Namespace) -> int:
        """Delete every key of this learner (and only theirs); return how many."""
        return self._empty(namespace, retire=False)

    def discard(self, namespace: Namespace) -> int:
        """Empty a scratch namespace (grading, lab validation) and drop all its
        bookkeeping: rate bucket, budget, transcript and history; return how many
        keys went."""
        deleted = self._empty(namespace, retire=True)
        with contextlib.suppress(*self.ledger.down):
            self.app.delete(self.log_key(namespace), self.history_key(namespace))
        return deleted

    def _empty(self, namespace: Namespace, *, retire: bool) -> int:
        """Delete through the learner's key index, never a scan of the whole server.

        Only while the app Redis (and so the index) is away does it fall back to
        a bounded SCAN of the learner's prefix (keyspace.SCAN_ROUNDS rounds).
        """
        self.ensure_ready()
        keys, call = self.target.mapping(namespace), self.target.server.call
        names = self.ledger.names(namespace)
        if names is None:
            batches = keyspace.scan_batches(call, keys.pattern())
        else:
            ordered = [keys.key(n) for n in sorted(names)]
            batches = (ordered[i : i + UNLINK_BATCH] for i in range(0, len(ordered), UNLINK_BATCH))
        deleted = 0
        for batch in batches:
            reply = call("UNLINK", *batch)
            deleted += reply if isinstance(reply, int) else 0
        self.ledger.forget(namespace, retire=retire)
        return deleted

    def adopt(self, source: Namespace, target: Namespace) -> int:
        """Move `source`'s keys into `target` (an anonymous learner joining an account).

        A name `target` already uses keeps its value, and the key quota holds;
        what stays behind is swept with the idle `source`. Returns how many moved.
        """
        self.ensure_ready()
        names = sorted(self.app.smembers(self.index_key(source)))
        room = self.limits.keys - bounds.key_total(self, target, prune=True)
        old, new = self.target.mapping(source), self.target.mapping(target)
        moved = []
        for name in names:
            if len(moved) >= room:
                break
            # RENAMENX keeps the key's TTL and never overwrites the target's own key.
            if self.target.server.call("RENAMENX", old.key(name), new.key(name)) == 1:
                moved.append(name)
        if moved:
            self.ledger.unindex(source, moved)
            self.ledger.add_to_index(target, moved, self.limits)
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
        keys = self.target.mapping(namespace)
        replies = self.target.server.pipeline(
            [c for n in names for c in (("TYPE", keys.key(n)), ("TTL", keys.key(n)))]
        )
        rows, gone = [], []
        for i, name in enumerate(names):
            kind, ttl = replies[2 * i], replies[2 * i + 1]
            if kind == b"none":
                gone.append(name)
            else:
                rows.append(KeyRow(name.decode("utf-8", errors="replace"), kind.decode(), ttl))
        self.ledger.unindex(namespace, gone)
        return rows[:limit]

    def sweep_idle(
        self, now: float | None = None, batch: int = 20, idle_seconds: float | None = None
    ) -> int:
        """Delete the keys of namespaces idle for longer than the limit (or `idle_seconds`)."""
        idle = idle_seconds if idle_seconds is not None else self.limits.idle_seconds
        namespaces = self.ledger.idle((now or time.time()) - idle, batch)
        for namespace in namespaces:
            self._empty(namespace, retire=True)
        return len(namespaces)

    # -- stages, for the modules that run them ------------------------------
    def check_batch(
        self,
        namespace: Namespace,
        commands: Sequence[tuple[CommandInfo | None, list[bytes]]],
        key_count: int | None = None,
    ) -> Refusal | None:
        return bounds.check_batch(self, namespace, commands, key_count)

    def prepare(
        self, keys: KeyMapping, info: CommandInfo | None, args: list[bytes]
    ) -> tuple[list[bytes], list[bytes], str]:
        """Map keys, clamp blocking timeouts; return (mapped args, key names, note)."""
        if info is None:
            return args, [], ""
        positions = self.table.key_positions(info, args)
        mapped = keys.map_args(args, positions, info.name)
        note = clamp_blocking(info, mapped, self.limits)
        names = [args[i] for i in positions] if info.has("write") else []
        return mapped, names, note

    def full_reply(self) -> ErrorReply:
        """The server refused a write for want of memory (noeviction's OOM): say so
        plainly, and stop trusting the memory reading that let the write through."""
        self.target.server.memory(fresh=True)
        return ErrorReply(f"ERR {bounds.FULL}")

    def _execute(
        self, namespace: Namespace, keys: KeyMapping, info: CommandInfo | None, args: list[bytes]
    ) -> Outcome:
        mapped, names, note = self.prepare(keys, info, args)
        blocking = info is not None and info.has("blocking")
        if blocking and may_block(info, mapped):
            reply = self._block(namespace, mapped)
        else:
            reply = self.target.server.call(*mapped, blocking=blocking)
        if isinstance(reply, Refusal):
            return error(f"ERR {reply}")
        if isinstance(reply, ErrorReply) and reply.startswith("OOM"):
            reply = self.full_reply()  # noeviction refused the write: no one's keys went
        reply = keys.unmap_reply(info.name if info else "", reply)
        failed = isinstance(reply, ErrorReply)
        return Outcome(
            reply=format_reply(reply),
            error=failed,
            note=note,
            changed=bool(info and info.has("write")),
            written=[] if failed else names,
        )

    def _block(self, namespace: Namespace, mapped: list[bytes]) -> Reply | Refusal:
        """A blocking command, within the learner's budget and the site's cap."""
        most = self.limits.block_seconds
        lease = self.ledger.take_blocking(namespace, self.limits, most)
        if isinstance(lease, Refusal):
            return lease
        started = time.monotonic()
        try:
            return self.target.server.call(*mapped, blocking=True)
        finally:
            unused = most - (time.monotonic() - started)
            self.ledger.release_blocking(namespace, self.limits, lease, unused)


class Sandbox(Engine):
    """One sandbox server, shared by every learner, each in their own namespace."""

    def __init__(
        self,
        url: str,
        app: redis.Redis,
        *,
        password: str,
        manage_acl: bool = True,
        limits: Limits | None = None,
        socket_timeout: float = 1.0,
        ssl_ca_certs: str = "",
        app_down: tuple[type[BaseException], ...] = SERVER_AWAY,
    ) -> None:
        limits = limits or Limits()
        server = Connection(
            url,
            password=password,
            manage_acl=manage_acl,
            socket_timeout=socket_timeout,
            block_seconds=limits.block_seconds,
            ssl_ca_certs=ssl_ca_certs,
        )
        super().__init__(Target(server, SharedPolicy(limits)), Ledger(app, app_down))
        self.url = url
        self.manage_acl = manage_acl


def __getattr__(name: str) -> object:
    if name == "DOWN":
        raise ImportError(
            "learn.sandbox.runner.DOWN moved: 'the app Redis is away' is "
            "config.redis_config.APP_REDIS_DOWN (the engine's own error is SandboxUnavailable)"
        )
    raise AttributeError(name)
