"""Split: a request as memcached's text protocol reads it, and the framing of replies.

A request is what a learner would type into telnet or nc for one command: a
command line, and for a storage command (`set`, `add`, `replace`, `append`,
`prepend`, `cas`, `ms`) its data block on the next line. Tokens are split on
spaces, as memcached splits them (runs of spaces count as one).

Replies are read as records: a header line, and for `VALUE` / `VA` headers the
data block of the size they announce, so a value that happens to contain
"END" or "MN" cannot end a reply early.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Keys(Enum):
    NONE = "none"
    FIRST = "first"  # the token after the command name
    ALL = "all"  # every token after the command name (get, gets)
    AFTER_TTL = "after_ttl"  # every token after the exptime (gat, gats)


@dataclass(frozen=True)
class Grammar:
    keys: Keys
    # A classic storage command: <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]
    storage: bool = False
    cas: bool = False
    meta: bool = False  # flags follow the key (mg, ms, md, ma)
    creates: bool = False  # may add a key to the server


COMMANDS: dict[str, Grammar] = {
    "get": Grammar(Keys.ALL),
    "gets": Grammar(Keys.ALL),
    "gat": Grammar(Keys.AFTER_TTL),
    "gats": Grammar(Keys.AFTER_TTL),
    "set": Grammar(Keys.FIRST, storage=True, creates=True),
    "add": Grammar(Keys.FIRST, storage=True, creates=True),
    "replace": Grammar(Keys.FIRST, storage=True),
    "append": Grammar(Keys.FIRST, storage=True),
    "prepend": Grammar(Keys.FIRST, storage=True),
    "cas": Grammar(Keys.FIRST, storage=True, cas=True),
    "delete": Grammar(Keys.FIRST),
    "incr": Grammar(Keys.FIRST),
    "decr": Grammar(Keys.FIRST),
    "touch": Grammar(Keys.FIRST),
    "mg": Grammar(Keys.FIRST, meta=True),
    "ms": Grammar(Keys.FIRST, meta=True, creates=True),
    "md": Grammar(Keys.FIRST, meta=True),
    "ma": Grammar(Keys.FIRST, meta=True),
    "mn": Grammar(Keys.NONE),
    "version": Grammar(Keys.NONE),
    "stats": Grammar(Keys.NONE),  # only bare `stats`, answered by the console
}


@dataclass
class Request:
    name: str
    tokens: list[bytes]  # the command line's tokens, the name first
    data: bytes | None  # the data block of a storage command (without its \r\n)
    grammar: Grammar

    def key_positions(self) -> list[int]:
        keys = self.grammar.keys
        if keys is Keys.FIRST:
            return [1] if len(self.tokens) > 1 else []
        if keys is Keys.ALL:
            return list(range(1, len(self.tokens)))
        if keys is Keys.AFTER_TTL:
            return list(range(2, len(self.tokens)))
        return []

    def keys(self) -> list[bytes]:
        return [self.tokens[i] for i in self.key_positions()]

    @property
    def is_storage(self) -> bool:
        return self.grammar.storage or self.name == "ms"

    @property
    def noreply(self) -> bool:
        return len(self.tokens) > 1 and self.tokens[-1] == b"noreply"


def split_request(raw: bytes) -> tuple[bytes, bytes]:
    """The command line (without its line end) and everything after it."""
    line, _, rest = raw.partition(b"\n")
    return line.removesuffix(b"\r"), rest


def data_block(rest: bytes) -> bytes:
    """The data block as typed on the following line(s), without the final line end."""
    if rest.endswith(b"\r\n"):
        return rest[:-2]
    return rest.removesuffix(b"\n")


def tokenize(line: bytes) -> list[bytes]:
    return [token for token in line.split(b" ") if token]


# --- replies ---------------------------------------------------------------

Record = tuple[bytes, bytes | None]  # a header line, and the data block it announces


def announced_size(header: bytes) -> int | None:
    """The data block size a reply line announces (VALUE <key> <flags> <bytes>, VA <size>)."""
    parts = header.split(b" ")
    try:
        if parts[0] == b"VALUE" and len(parts) >= 4:
            return int(parts[3])
        if parts[0] == b"VA" and len(parts) >= 2:
            return int(parts[1])
    except ValueError:
        return None
    return None


def serialize(records: list[Record]) -> bytes:
    """Records back into the bytes the server sent."""
    out = bytearray()
    for header, data in records:
        out += header + b"\r\n"
        if data is not None:
            out += data + b"\r\n"
    return bytes(out)


ERROR_HEADS = (b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")


def is_error(records: list[Record]) -> bool:
    return any(header.split(b" ", 1)[0] in ERROR_HEADS for header, _ in records)
