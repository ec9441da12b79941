"""What the server says about its commands: flags, categories and key specs.

Key positions come from the server's own key specifications (COMMAND INFO),
interpreted the way the server interprets them, so a command added in a new
engine version is mapped correctly without anyone editing a table here. Where
a spec is of an "unknown" kind (SORT ... STORE), the server is asked for the
key names themselves (COMMAND GETKEYS) and those are placed in the arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from learn.sandbox.resp import ErrorReply

Execute = Callable[..., object]


def _pairs(flat: Sequence) -> dict[str, object]:
    """RESP2 sends maps as flat [key, value, ...] lists."""
    return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat) - 1, 2)}


@dataclass(frozen=True)
class KeySpec:
    begin: str  # "index", "keyword" or "unknown"
    index: int = 0
    keyword: bytes = b""
    startfrom: int = 0
    find: str = "range"  # "range", "keynum" or "unknown"
    lastkey: int = 0
    keystep: int = 1
    limit: int = 0
    keynumidx: int = 0
    firstkey: int = 0
    flags: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, raw: Sequence) -> KeySpec:
        spec = _pairs(raw)
        begin = _pairs(spec["begin_search"])
        find = _pairs(spec["find_keys"])
        begin_args = _pairs(begin["spec"]) if begin["spec"] else {}
        find_args = _pairs(find["spec"]) if find["spec"] else {}
        return cls(
            begin=begin["type"].decode(),
            index=int(begin_args.get("index", 0)),
            keyword=bytes(begin_args.get("keyword", b"")),
            startfrom=int(begin_args.get("startfrom", 0)),
            find=find["type"].decode(),
            lastkey=int(find_args.get("lastkey", 0)),
            keystep=int(find_args.get("keystep", 1)),
            limit=int(find_args.get("limit", 0)),
            keynumidx=int(find_args.get("keynumidx", 0)),
            firstkey=int(find_args.get("firstkey", 0)),
            flags=frozenset(f.decode().lower() for f in spec.get("flags", [])),
        )

    @property
    def complete(self) -> bool:
        return self.begin != "unknown" and self.find != "unknown" and "incomplete" not in self.flags

    def positions(self, args: Sequence[bytes]) -> list[int]:
        """Argument indexes this spec marks as keys (args[0] is the command)."""
        argc = len(args)
        if self.begin == "index":
            first = self.index
        elif self.begin == "keyword":
            first = self._after_keyword(args)
            if first is None:
                return []
        else:
            return []
        if self.find == "range":
            if self.lastkey >= 0:
                last = first + self.lastkey
            else:
                last = first + (argc - first) // max(self.limit, 1) + self.lastkey
        elif self.find == "keynum":
            try:
                numkeys = int(args[first + self.keynumidx])
            except (IndexError, ValueError):
                return []  # the server will reject the count with its own message
            first += self.firstkey
            last = first + (numkeys - 1) * self.keystep
        else:
            return []
        step = max(self.keystep, 1)
        return [i for i in range(first, min(last, argc - 1) + 1, step) if i >= 1]

    def _after_keyword(self, args: Sequence[bytes]) -> int | None:
        argc = len(args)
        if self.startfrom >= 0:
            indexes = range(self.startfrom, argc)
        else:
            indexes = range(argc + self.startfrom, 0, -1)
        for i in indexes:
            if 1 <= i < argc and args[i].lower() == self.keyword.lower():
                return i + 1
        return None


@dataclass(frozen=True)
class CommandInfo:
    name: str  # lower case; "xgroup|create" for a subcommand
    arity: int
    flags: frozenset[str]
    categories: frozenset[str]
    key_specs: tuple[KeySpec, ...]
    subcommands: dict[str, CommandInfo] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Sequence) -> CommandInfo:
        subcommands = {}
        if len(raw) > 9:
            for sub in raw[9]:
                info = cls.parse(sub)
                subcommands[info.name.split("|", 1)[1]] = info
        return cls(
            name=raw[0].decode().lower(),
            arity=int(raw[1]),
            flags=frozenset(f.decode().lower() for f in raw[2]),
            categories=frozenset(c.decode().lower() for c in raw[6])
            if len(raw) > 6
            else frozenset(),
            key_specs=tuple(KeySpec.parse(s) for s in raw[8]) if len(raw) > 8 else (),
            subcommands=subcommands,
        )

    def has(self, flag: str) -> bool:
        return flag in self.flags

    def in_category(self, category: str) -> bool:
        return f"@{category}" in self.categories


class UnmappableKeys(Exception):
    """The key arguments cannot be told apart from the other arguments."""


class CommandTable:
    """COMMAND INFO, fetched once per command name and kept."""

    def __init__(self, execute: Execute) -> None:
        self._execute = execute
        self._cache: dict[str, CommandInfo | None] = {}

    def lookup(self, args: Sequence[bytes]) -> CommandInfo | None:
        """The info for this command line (its subcommand's, for containers)."""
        name = args[0].decode("utf-8", errors="replace").lower()
        if name not in self._cache:
            reply = self._execute("COMMAND", "INFO", name)
            raw = reply[0] if isinstance(reply, list) and reply else None
            self._cache[name] = CommandInfo.parse(raw) if raw else None
        info = self._cache[name]
        if info and info.subcommands and len(args) > 1:
            sub = args[1].decode("utf-8", errors="replace").lower()
            return info.subcommands.get(sub, info)
        return info

    def key_positions(self, info: CommandInfo, args: Sequence[bytes]) -> list[int]:
        positions: set[int] = set()
        for spec in info.key_specs:
            positions.update(spec.positions(args))
        if all(spec.complete for spec in info.key_specs):
            return sorted(positions)
        return sorted(positions | self._positions_from_getkeys(args, positions))

    def read_only_positions(self, info: CommandInfo, args: Sequence[bytes]) -> list[int]:
        """Keys the command only reads (key-spec flag RO): sources, never grown."""
        found: set[int] = set()
        for spec in info.key_specs:
            if "ro" in spec.flags:
                found.update(spec.positions(args))
        return sorted(found)

    def _positions_from_getkeys(self, args: Sequence[bytes], known: set[int]) -> set[int]:
        reply = self._execute("COMMAND", "GETKEYS", *args)
        if isinstance(reply, ErrorReply):
            return set()  # no keys (or a malformed line the server will reject itself)
        names = list(reply or [])
        for i in known:
            if args[i] in names:
                names.remove(args[i])
        found: set[int] = set()
        for name in names:
            candidates = [
                i for i in range(1, len(args)) if args[i] == name and i not in known | found
            ]
            if len(candidates) != 1:
                raise UnmappableKeys(name)
            found.add(candidates[0])
        return found
