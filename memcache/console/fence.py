"""Refuse and map: the console's fence around a memcached every learner shares.

A plain memcached has no users and no ACLs, so this parser is the only thing
between a learner and everyone else's items. It:

- runs only the commands in protocol.COMMANDS, and refuses the ones that see
  or change the whole server with the reason (flush_all, stats <anything>,
  lru_crawler, watch, verbosity, shutdown, ...), and any other;
- puts the learner's prefix in front of every key, so no key a learner types
  can name another learner's item, whatever it spells;
- refuses control characters anywhere in the command line, base64 keys (the
  meta `b` flag: the server would decode them past the prefix), more than one
  command per request, and a data block whose length is not the one declared:
  memcached would read the difference as a command of its own;
- sends a data block only after a command line the server is certain to read
  a data block after (the strict grammar below). A key over 250 bytes after
  the prefix is the one exception the learner sees the server's real error
  for: the command line is sent alone and the data is withheld.

Prefixes count towards memcached's 250-byte key limit: a learner's key may be
250 - len(prefix) bytes (230 with the console's 20-byte prefix).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from memcache.console.protocol import COMMANDS, Record, Request, split_request, tokenize
from memcache.console.protocol import data_block as read_data_block

KEY_MAX = 250  # memcached's KEY_MAX_LENGTH, after the prefix
UINT32 = 2**32 - 1
UINT64 = 2**64 - 1
INT32 = 2**31 - 1


@dataclass(frozen=True)
class Refusal:
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Bounds:
    line_bytes: int = 2048  # memcached's own limit for a command line
    # Above the console server's item limit (-I 64k), so the real
    # "object too large" error can be seen; under the site's request body cap.
    data_bytes: int = 100_000
    get_keys: int = 24


@dataclass(frozen=True)
class Prefix:
    """A learner's key prefix: `mc:<16 hex digits>:` (20 bytes)."""

    name: str

    @property
    def raw(self) -> bytes:
        return b"mc:" + self.name.encode() + b":"

    def key(self, name: bytes) -> bytes:
        return self.raw + name

    def strip(self, name: bytes) -> bytes:
        return name[len(self.raw) :] if name.startswith(self.raw) else name

    @property
    def room(self) -> int:
        """The longest key a learner may type."""
        return KEY_MAX - len(self.raw)


WHOLE_SERVER = (
    "{name} {what}. The server is shared by every learner, so the console does not "
    "run it; on a Memcached node of your own (the labs) you could."
)
REFUSED: dict[str, str] = {
    "flush_all": "flush_all would empty the whole server, every learner's items with yours. "
    "Delete your own with delete, or press “Delete my keys”.",
    "lru_crawler": WHOLE_SERVER.format(
        name="lru_crawler", what="walks every item on the server (metadump lists their keys)"
    ),
    "watch": WHOLE_SERVER.format(
        name="watch", what="streams the server's log of every client's commands"
    ),
    "verbosity": WHOLE_SERVER.format(name="verbosity", what="changes the server's logging"),
    "shutdown": WHOLE_SERVER.format(name="shutdown", what="would stop the server for everyone"),
    "cache_memlimit": WHOLE_SERVER.format(
        name="cache_memlimit", what="changes how much memory the whole server may use"
    ),
    "slabs": WHOLE_SERVER.format(
        name="slabs", what="moves memory between the server's slab classes"
    ),
    "lru": WHOLE_SERVER.format(name="lru", what="tunes the server's LRU for every item"),
    "extstore": WHOLE_SERVER.format(name="extstore", what="configures the server's flash storage"),
    "misbehave": "misbehave is a test hook for memcached's developers, not for a shared server.",
    "debugtime": "debugtime moves the server's clock (a test hook for memcached's developers): "
    "every learner's expiry times would move with it.",
    "me": "me (meta debug) is a debugging command the console does not run. "
    "mg with flags shows the same about your item: mg <key> s t c f l h.",
    "quit": "Each command gets a connection of its own, closed after the reply, "
    "so there is nothing to quit.",
    "cachedump": "cachedump lists keys of every learner; the console does not run it.",
    "auth": "This server has no authentication (neither has a plain memcached); "
    "the console keeps your keys apart by their prefix.",
}
STATS_REFUSED = (
    "stats {arg} describes the whole shared server (every learner's items), so the console "
    "does not run it. Plain stats shows your own keys; on a node of your own (the labs) "
    "you could run stats {arg}."
)
NORMAL = ", ".join(name for name in COMMANDS)


def has_control(raw: bytes) -> bool:
    text = raw.decode("utf-8", errors="replace")
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def _uint(token: bytes, most: int) -> bool:
    return token.isdigit() and len(token) <= 20 and int(token) <= most


def _int32(token: bytes) -> bool:
    digits = token[1:] if token.startswith(b"-") else token
    return digits.isdigit() and len(digits) <= 11 and int(digits) <= INT32


@dataclass
class Parsed:
    request: Request
    # A key over the limit in a storage command: send the line alone, so the
    # learner sees the server's own error and no data is read as a command.
    withhold_data: bool = False


def parse(raw: bytes, prefix: Prefix, bounds: Bounds | None = None) -> Parsed | Refusal:
    """The learner's request, checked; or why it is refused."""
    bounds = bounds or Bounds()
    line, rest = split_request(raw)
    if len(line) > bounds.line_bytes:
        return Refusal(f"a command line may be {bounds.line_bytes} bytes at most.")
    if has_control(line):
        return Refusal(
            "control characters (tabs, NUL, escapes...) cannot appear in a command line: "
            "memcached splits on spaces and ends a line at \\r\\n. Keys are printable."
        )
    tokens = tokenize(line)
    if not tokens:
        return Refusal("Type a command, such as: get greeting")
    name = tokens[0].decode("utf-8", errors="replace")
    grammar = COMMANDS.get(name)
    if grammar is None:
        return _unknown(name, tokens)
    if name == "stats" and len(tokens) > 1:
        return Refusal(STATS_REFUSED.format(arg=tokens[1].decode("utf-8", errors="replace")))
    request = Request(name, tokens, None, grammar)
    if request.is_storage:
        return _storage(request, rest, prefix, bounds)
    if rest.strip(b" \r\n"):
        return Refusal(
            "one command per request: send the next command on its own. "
            f"(Only a storage command takes a data line, and {name} is not one.)"
        )
    if grammar.keys.name in ("ALL", "AFTER_TTL") and len(request.keys()) > bounds.get_keys:
        return Refusal(f"{name} may name up to {bounds.get_keys} keys at once in the console.")
    return _meta_flags(request) or Parsed(request)


def _unknown(name: str, tokens: list[bytes]) -> Refusal:
    reason = REFUSED.get(name)
    if reason:
        return Refusal(reason)
    if name.lower() in COMMANDS or name.lower() in REFUSED:
        return Refusal(
            f"memcached's commands are lower case: type {name.lower()}, not {name} "
            "(the server answers ERROR to that)."
        )
    return Refusal(f"“{name}” is not a command the console runs. It runs: {NORMAL}.")


def _meta_flags(request: Request) -> Refusal | None:
    if not request.grammar.meta:
        return None
    first_flag = 3 if request.name == "ms" else 2
    for flag in request.tokens[first_flag:]:
        if flag.startswith(b"b"):
            return Refusal(
                "the b flag (a base64-encoded key) is refused: the server would decode the "
                "key past your prefix. Type the key itself."
            )
    return None


def _storage(request: Request, rest: bytes, prefix: Prefix, bounds: Bounds) -> Parsed | Refusal:
    tokens, name = request.tokens, request.name
    if name == "ms":
        refusal = _check_ms(tokens, bounds) or _meta_flags(request)
        declared = int(tokens[2]) if refusal is None else 0
    else:
        refusal = _check_classic(request, bounds)
        declared = int(tokens[4]) if refusal is None else 0
    if refusal:
        return refusal
    data = read_data_block(rest)
    if len(data) != declared:
        return Refusal(
            f"the command line says {declared} byte{'s' if declared != 1 else ''}, and the "
            f"data line has {len(data)}. They must match exactly: memcached would read the "
            "difference as a command of its own. (Count bytes, not characters: é is 2.)"
        )
    request.data = data
    too_long = len(prefix.key(tokens[1])) > KEY_MAX
    return Parsed(request, withhold_data=too_long)


def _check_classic(request: Request, bounds: Bounds) -> Refusal | None:
    tokens, name = request.tokens, request.name
    fields = 6 if request.grammar.cas else 5
    cas = " <cas unique>" if fields == 6 else ""
    usage = f"{name} <key> <flags> <exptime> <bytes>{cas} [noreply]"
    count = len(tokens) - (1 if request.noreply else 0)
    if count != fields:
        return Refusal(f"that is not a {name} command line. The form is: {usage}")
    if not _uint(tokens[2], UINT32):
        return Refusal(f"the flags must be a whole number from 0 to {UINT32}. Form: {usage}")
    if not _int32(tokens[3]):
        return Refusal(
            "the exptime must be a whole number of seconds (0: never expires; over 30 days: "
            f"a Unix time; negative: expired at once). Form: {usage}"
        )
    if not _uint(tokens[4], bounds.data_bytes):
        return Refusal(
            f"the byte count must be a whole number from 0 to {bounds.data_bytes:,} "
            f"(the most the console sends in one request). Form: {usage}"
        )
    if fields == 6 and not _uint(tokens[5], UINT64):
        return Refusal(f"the cas unique must be the number gets showed you. Form: {usage}")
    return None


def _check_ms(tokens: list[bytes], bounds: Bounds) -> Refusal | None:
    usage = "ms <key> <datalen> <flags>*, then the data on the next line"
    if len(tokens) < 3:
        return Refusal(f"that is not an ms command line. The form is: {usage}")
    if not _uint(tokens[2], bounds.data_bytes):
        return Refusal(f"the datalen must be a whole number from 0 to {bounds.data_bytes:,}.")
    return None


# --- mapping -----------------------------------------------------------------


def to_wire(parsed: Parsed, prefix: Prefix) -> bytes:
    """The bytes to send: the prefixed command line and (unless withheld) its data block."""
    request = parsed.request
    tokens = list(request.tokens)
    for i in request.key_positions():
        tokens[i] = prefix.key(tokens[i])
    wire = b" ".join(tokens) + b"\r\n"
    if request.data is not None and not parsed.withhold_data:
        wire += request.data + b"\r\n"
    return wire


def unmap(records: list[Record], prefix: Prefix) -> list[Record]:
    """Keys in the reply back out of the prefix: VALUE lines, and meta replies' k flag."""
    mark = b"k" + prefix.raw
    out: list[Record] = []
    for header, data in records:
        parts = header.split(b" ")
        if parts[0] == b"VALUE" and len(parts) > 1:
            parts[1] = prefix.strip(parts[1])
        else:
            parts = [b"k" + part[len(mark) :] if part.startswith(mark) else part for part in parts]
        out.append((b" ".join(parts), data))
    return out
