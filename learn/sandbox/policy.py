"""Refuse: every refusal that needs no server, each with its reason.

A target's policy is the validator of the pipeline (see the package docstring
for the order): it is asked about the whole line before it is split, about the
command once the server's COMMAND INFO names it, about the arguments once the
key specs have told keys from the rest, and about a transaction's queue. Every
refusal carries a message saying why and what to do instead, like a form
validator's. Nothing here talks to a server: the bounds that do (key quota,
value sizes, a full sandbox) are in limits.py.

`SharedPolicy` is the shared sandbox server's. A private target (a learner's
own server, in the labs) brings its own policy object with the same methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from learn.sandbox.commands import CommandInfo
from learn.sandbox.namespace import CHANNEL_ARGS, ROOT


@dataclass(frozen=True)
class Limits:
    line_bytes: int = 64 * 1024
    args: int = 1024
    arg_bytes: int = 16 * 1024
    key_name_bytes: int = 512
    keys: int = 100
    # The largest a single key may grow: with `keys`, about 6 MiB a learner.
    key_bytes: int = 64 * 1024
    block_seconds: float = 2.0
    # Token bucket: a burst of `burst` commands, refilled at `rate` per second.
    burst: int = 40
    rate: float = 20.0
    idle_seconds: int = 24 * 60 * 60
    # MULTI typed over several requests is kept in the app Redis: bound it.
    queue_commands: int = 50
    queue_bytes: int = 128 * 1024
    # Seconds one learner may spend blocked (BLPOP ...) per minute, and how many
    # blocking commands the whole site runs at once: each holds a web worker.
    block_budget: float = 10.0
    blocking_at_once: int = 1
    # New sandbox namespaces one client address may start in an hour (a
    # namespace is per session, and sessions are free to make).
    new_per_origin: int = 50
    # When the shared server is this full, new data is refused (and namespaces
    # idle for `full_idle_seconds` are swept first to make room).
    full_fraction: float = 0.9
    full_idle_seconds: int = 60 * 60


@dataclass(frozen=True)
class Refusal:
    message: str

    def __str__(self) -> str:
        return self.message


ADMIN = (
    "{name} administers the server, which is shared by every learner, so the sandbox "
    "does not run it. ElastiCache manages this for you too (parameter groups, the "
    "console and the API)."
)
EXPLAINED = {
    "flushall": "FLUSHALL would empty everyone's sandbox. Use the “Reset my sandbox” button to delete your own keys.",
    "flushdb": "FLUSHDB would empty everyone's sandbox. Use the “Reset my sandbox” button to delete your own keys.",
    "select": "The sandbox gives you one database. Keys you create live in your own namespace of it.",
    "swapdb": "The sandbox gives you one database, so there is nothing to swap.",
    "move": "MOVE sends a key to another database; the sandbox gives you only one. Try RENAME or COPY within it.",
    "eval": "Scripts are switched off in the sandbox: a script can run for a long time and touch keys the sandbox cannot see in advance.",
    "evalsha": "Scripts are switched off in the sandbox.",
    "eval_ro": "Scripts are switched off in the sandbox.",
    "evalsha_ro": "Scripts are switched off in the sandbox.",
    "script": "Scripts are switched off in the sandbox.",
    "function": "Functions are switched off in the sandbox.",
    "fcall": "Functions are switched off in the sandbox.",
    "fcall_ro": "Functions are switched off in the sandbox.",
    "migrate": "MIGRATE moves keys to another server; the sandbox stays on its own.",
    "restore": "RESTORE loads serialized data the sandbox cannot inspect. Create keys with ordinary commands instead.",
    "restore-asking": "RESTORE-ASKING is for cluster resharding; the sandbox is a single server.",
    "dump": "DUMP returns the server's internal serialization; try TYPE, OBJECT ENCODING or MEMORY USAGE to inspect a key.",
    "subscribe": "SUBSCRIBE holds a connection open waiting for messages, which a web page cannot keep. PUBLISH works: its reply counts the subscribers who got the message (0 here, so the message is gone: pub/sub keeps nothing).",
    "psubscribe": "PSUBSCRIBE holds a connection open; the sandbox cannot keep one. PUBLISH works and shows that unheard messages are lost.",
    "ssubscribe": "SSUBSCRIBE holds a connection open; the sandbox cannot keep one. SPUBLISH and PUBLISH work.",
    "unsubscribe": "There are no subscriptions in the sandbox to cancel.",
    "punsubscribe": "There are no subscriptions in the sandbox to cancel.",
    "sunsubscribe": "There are no subscriptions in the sandbox to cancel.",
    "pubsub": "PUBSUB lists every learner's channels, so the sandbox does not run it.",
    "wait": "WAIT blocks until replicas acknowledge writes; the sandbox server has no replicas.",
    "waitaof": "WAITAOF waits for the append-only file; the sandbox keeps nothing on disk.",
    "auth": "The sandbox connects for you; there is nothing to authenticate.",
    "hello": "The sandbox speaks the protocol for you; HELLO would change how replies look.",
    "reset": "RESET would reset the sandbox's connection. Use the “Reset my sandbox” button to delete your keys.",
    "quit": "There is no connection of yours to close: each command runs on its own.",
    "client": "CLIENT commands inspect or change other users' connections, so the sandbox does not run them.",
    "monitor": "MONITOR would show every learner's commands, so the sandbox does not run it.",
    "info": "INFO describes the shared server and every learner's keys, so the sandbox does not run it. Try DBSIZE, TYPE or MEMORY USAGE key.",
    "command": "Use HELP <command> to read about a command.",
}
# Named so that a server which files one of them under a harmless category
# (ACL WHOAMI is merely @slow) still refuses it.
ADMIN_COMMANDS = {
    "acl", "bgrewriteaof", "bgsave", "cluster", "config", "debug", "failover", "lastsave",
    "latency", "module", "psync", "replconf", "replicaof", "role", "save", "shutdown",
    "slaveof", "slowlog", "sync", "pfdebug", "pfselftest",
}  # fmt: skip
ALLOWED_ANYWAY = {"keys", "sort", "sort_ro", "publish", "spublish", "ping", "echo", "memory|usage"}

# Where a blocking command takes its timeout, in seconds unless noted.
TIMEOUT_LAST = {"blpop", "brpop", "bzpopmin", "bzpopmax", "blmove", "brpoplpush"}
TIMEOUT_FIRST = {"blmpop", "bzmpop"}
TIMEOUT_BLOCK_MS = {"xread", "xreadgroup"}

UNMAPPABLE = Refusal(
    "the sandbox cannot tell which arguments of this command are keys. "
    "Give the keys names that differ from the other arguments."
)


def arity_ok(info: CommandInfo, argc: int) -> bool:
    return argc == info.arity if info.arity > 0 else argc >= -info.arity


class Policy(Protocol):
    """What a target's policy answers; None means "may run"."""

    limits: Limits

    def check_line(self, line: bytes) -> Refusal | None: ...

    def check_command(self, info: CommandInfo | None, args: Sequence[bytes]) -> Refusal | None: ...

    def check_arguments(
        self, info: CommandInfo, args: Sequence[bytes], positions: Sequence[int]
    ) -> Refusal | None: ...

    def check_queue(
        self, queued: Sequence[Sequence[bytes]], args: Sequence[bytes]
    ) -> Refusal | None: ...


@dataclass(frozen=True)
class SharedPolicy:
    """The shared sandbox server's rules: one server, every learner on it."""

    limits: Limits = Limits()

    def check_line(self, line: bytes) -> Refusal | None:
        return check_size(line, self.limits)

    def check_command(self, info: CommandInfo | None, args: Sequence[bytes]) -> Refusal | None:
        return check_command(info, args, self.limits)

    def check_arguments(
        self, info: CommandInfo, args: Sequence[bytes], positions: Sequence[int]
    ) -> Refusal | None:
        return check_arguments(info, args, positions, self.limits) or check_offsets(
            info.name, args, self.limits
        )

    def check_queue(
        self, queued: Sequence[Sequence[bytes]], args: Sequence[bytes]
    ) -> Refusal | None:
        return check_queue(queued, args, self.limits)


def check_size(line: bytes, limits: Limits) -> Refusal | None:
    if len(line) > limits.line_bytes:
        return Refusal(
            f"That command line is {len(line):,} bytes; the sandbox takes at most "
            f"{limits.line_bytes:,}. Store big values in smaller pieces (APPEND, RPUSH)."
        )
    return None


def check_command(
    info: CommandInfo | None, args: Sequence[bytes], limits: Limits
) -> Refusal | None:
    """Refuse what may not run, with the reason; None when the command may run."""
    if len(args) > limits.args:
        return Refusal(
            f"That command has {len(args):,} arguments; the sandbox takes at most {limits.args:,}."
        )
    for arg in args:
        if len(arg) > limits.arg_bytes:
            return Refusal(
                f"One argument is {len(arg):,} bytes; the sandbox takes at most "
                f"{limits.arg_bytes:,} per argument."
            )
    if info is None:
        return None  # unknown to the server: it answers with its own error
    name = info.name
    top = name.split("|", 1)[0]
    if top in EXPLAINED:
        return Refusal(EXPLAINED[top])
    if top in ADMIN_COMMANDS or name in ADMIN_COMMANDS:
        return Refusal(ADMIN.format(name=top.upper()))
    if name in ALLOWED_ANYWAY:
        return _check_options(name, args)
    if info.in_category("admin") or info.in_category("dangerous"):
        return Refusal(ADMIN.format(name=top.upper()))
    if info.in_category("scripting"):
        return Refusal(EXPLAINED["eval"])
    if info.in_category("pubsub"):
        return Refusal(EXPLAINED["subscribe"])
    if top == "memory":
        return Refusal("Of the MEMORY commands the sandbox runs only MEMORY USAGE key.")
    return _check_options(name, args)


def _check_options(name: str, args: Sequence[bytes]) -> Refusal | None:
    upper = [a.upper() for a in args[1:]]
    if name in {"sort", "sort_ro"} and (b"BY" in upper or b"GET" in upper):
        return Refusal(
            "SORT ... BY and GET read keys named by patterns, which could reach outside your "
            "namespace, so the sandbox refuses them. Plain SORT (with LIMIT, ASC|DESC, ALPHA "
            "and STORE) works."
        )
    if name == "copy" and b"DB" in upper:
        return Refusal(
            "COPY ... DB copies into another database; the sandbox gives you only one. Drop the DB option."
        )
    return None


def check_arguments(
    info: CommandInfo, args: Sequence[bytes], positions: Sequence[int], limits: Limits
) -> Refusal | None:
    """Key names and the other arguments, once the key specs have told them apart."""
    for i in positions:
        if len(args[i]) > limits.key_name_bytes:
            return Refusal(
                f"key names may be at most {limits.key_name_bytes} bytes in the sandbox."
            )
    mapped = {*positions, CHANNEL_ARGS.get(info.name, -1)}
    others = [i for i in range(1, len(args)) if i not in mapped]
    # Key specs find a keyword's first occurrence; some commands obey the last
    # (GEORADIUS ... STORE a STORE b). Say so instead of guessing.
    for spec in info.key_specs:
        if spec.begin == "keyword":
            repeats = [i for i in others if args[i].upper() == spec.keyword.upper()]
            if len(repeats) > 1:
                return Refusal(f"give {spec.keyword.decode()} only once.")
    # Whatever the mapping misses, a learner must never name the sandbox's
    # own prefix: that is how another learner's keys are spelled.
    if any(args[i].startswith(ROOT) for i in others):
        return Refusal(
            f"arguments may not start with {ROOT.decode()!r}: the sandbox keeps that prefix "
            "for itself. Choose another name."
        )
    return None


def check_offsets(name: str, args: Sequence[bytes], limits: Limits) -> Refusal | None:
    """Offsets that would grow a key past the limit in one go (SETRANGE, SETBIT, BITFIELD)."""
    most = limits.key_bytes
    too_far = Refusal(
        f"that offset would grow the key past {most // 1024} KiB, the most a sandbox key may hold."
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


def check_queue(
    queued: Sequence[Sequence[bytes]], args: Sequence[bytes], limits: Limits
) -> Refusal | None:
    """A transaction's queue lives in the app Redis between requests: keep it small."""
    if len(queued) >= limits.queue_commands:
        return Refusal(
            f"a sandbox transaction holds at most {limits.queue_commands} commands. "
            "EXEC or DISCARD this one (EXEC will refuse it) and start a smaller one."
        )
    size = sum(len(a) for command in (*queued, args) for a in command)
    if size > limits.queue_bytes:
        return Refusal(
            f"a sandbox transaction holds at most {limits.queue_bytes // 1024} KiB of commands. "
            "EXEC or DISCARD this one (EXEC will refuse it) and start a smaller one."
        )
    return None


def _timeouts(info: CommandInfo, args: Sequence[bytes]) -> tuple[list[int], float]:
    """Where a blocking command's timeouts are, and their unit (1000: milliseconds)."""
    if info.name in TIMEOUT_LAST:
        return [len(args) - 1], 1.0
    if info.name in TIMEOUT_FIRST:
        return [1], 1.0
    if info.name in TIMEOUT_BLOCK_MS:
        # Options sit between the command (after GROUP g c for XREADGROUP) and
        # STREAMS; the server obeys every BLOCK there, the last one winning.
        start = 4 if info.name == "xreadgroup" else 1
        upper = [a.upper() for a in args]
        end = upper.index(b"STREAMS", start) if b"STREAMS" in upper[start:] else len(args)
        return [i + 1 for i in range(start, end - 1) if upper[i] == b"BLOCK"], 1000.0
    return [], 1.0


def may_block(info: CommandInfo, args: Sequence[bytes]) -> bool:
    """Whether the command can hold its connection waiting (XREAD only with BLOCK)."""
    if not info.has("blocking"):
        return False
    return info.name not in TIMEOUT_BLOCK_MS or bool(_timeouts(info, args)[0])


def clamp_blocking(info: CommandInfo, args: list[bytes], limits: Limits) -> str:
    """Cap blocking timeouts (0 = forever) at the limit, in place; say so in a note."""
    if not info.has("blocking"):
        return ""
    most = limits.block_seconds
    indexes, scale = _timeouts(info, args)
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
