"""Which commands a stranger may run on the shared sandbox server, and how much.

The policy is the second of the sandbox's layers (after key mapping, before
the server's own ACL): every refusal carries a message saying why and what to
do instead, like a form validator's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from learn.sandbox.commands import CommandInfo


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
