"""Run: the stages in order (see the package docstring); orchestration and quotas only."""

from __future__ import annotations

from dataclasses import dataclass

from memcache.console import fence
from memcache.console.connection import ReplyTooLarge, Server
from memcache.console.fence import Bounds, Parsed, Prefix, Refusal
from memcache.console.ledger import Ledger
from memcache.console.protocol import Request, is_error, serialize


@dataclass(frozen=True)
class Quota:
    keys: int = 50
    bytes: int = 256 * 1024  # value bytes, summed over the learner's keys


@dataclass
class Outcome:
    reply: str
    error: bool = False
    note: str = ""
    changed: bool = False
    raw: bytes = b""  # the reply exactly as the server sent it, keys mapped back


WRITES = {"set", "add", "replace", "append", "prepend", "cas", "ms", "delete", "md"}
CHANGES = WRITES | {"incr", "decr", "touch", "gat", "gats", "ma", "mg"}
GROWS = {"append", "prepend"}


def refused(refusal: Refusal) -> Outcome:
    return Outcome(reply=f"(console) {refusal.message}", error=True)


def _vivifies(request: Request) -> bool:
    """mg/ma with the N flag create the item when it is missing."""
    return request.name in ("mg", "ma") and any(t.startswith(b"N") for t in request.tokens[2:])


def _appends(request: Request) -> bool:
    if request.name in GROWS:
        return True
    return request.name == "ms" and any(t in (b"MA", b"MP", b"Ma", b"Mp") for t in request.tokens)


class Console:
    def __init__(
        self,
        server: Server,
        ledger: Ledger,
        quota: Quota | None = None,
        bounds: Bounds | None = None,
    ) -> None:
        self.server, self.ledger = server, ledger
        self.quota, self.bounds = quota or Quota(), bounds or Bounds()

    def run(self, prefix: Prefix, text: str, *, record: bool = False) -> Outcome:
        allowed, names = self.ledger.admit(prefix)
        if not allowed:
            outcome = refused(
                Refusal(
                    f"you are sending commands faster than the console allows (a burst of "
                    f"{self.ledger.burst}, then {self.ledger.rate:g} a second). Wait a moment."
                )
            )
        else:
            outcome, written, removed = self._run(prefix, text.encode("utf-8"), names)
            if written or removed or record:
                entry = None
                if record:
                    entry = {
                        "command": text,
                        "reply": outcome.reply,
                        "error": outcome.error,
                        "note": outcome.note,
                    }
                self.ledger.record(prefix, written=written, removed=removed, entry=entry)
        return outcome

    def _run(
        self, prefix: Prefix, raw: bytes, names: set[bytes]
    ) -> tuple[Outcome, list[bytes], list[bytes]]:
        parsed = fence.parse(raw, prefix, self.bounds)
        if isinstance(parsed, Refusal):
            return refused(parsed), [], []
        request = parsed.request
        if request.name == "stats":
            return self._stats(prefix, names), [], []
        refusal = self._check_quota(prefix, parsed, names)
        if refusal:
            return refused(refusal), [], []
        try:
            records = self.server.exchange(
                fence.to_wire(parsed, prefix), fences=2 if request.name == "mn" else 1
            )
        except ReplyTooLarge:
            limit = self.server.reply_bytes // 1024
            return refused(Refusal(f"the reply is over {limit} KiB; ask for fewer keys.")), [], []
        records = fence.unmap(records, prefix)
        raw_reply = serialize(records)
        key = request.keys()[0] if request.keys() else None
        creates = request.grammar.creates or _vivifies(request)
        written = [key] if key is not None and creates and not parsed.withhold_data else []
        removed = [key] if request.name in ("delete", "md") and not is_error(records) else []
        outcome = Outcome(
            reply=raw_reply.decode("utf-8", errors="replace"),
            error=is_error(records),
            note=self._note(parsed, prefix, raw_reply),
            changed=request.name in CHANGES,
            raw=raw_reply,
        )
        return outcome, written, removed

    def _note(self, parsed: Parsed, prefix: Prefix, raw_reply: bytes) -> str:
        request = parsed.request
        if parsed.withhold_data:
            size = len(prefix.key(request.tokens[1]))
            return (
                f"Your key is {size} bytes with the console's {len(prefix.raw)}-byte prefix; "
                f"memcached allows {fence.KEY_MAX}, so it refused the command line. The console "
                "did not send your data line: the server would have read it as a command."
            )
        if not raw_reply and request.noreply:
            return "noreply: the server sends nothing back, not even an error."
        if not raw_reply:
            return "The server sent nothing back (the q flag hides routine replies)."
        return ""

    # -- bounds ------------------------------------------------------------
    def _check_quota(self, prefix: Prefix, parsed: Parsed, names: set[bytes]) -> Refusal | None:
        request = parsed.request
        if parsed.withhold_data:
            return None  # the server refuses it: nothing is stored
        key = request.keys()[0] if request.keys() else None
        creates = request.grammar.creates or _vivifies(request)
        if key is None or not (creates or request.data is not None):
            return None
        new = key not in names
        if not new and request.data is None:
            return None
        if new and creates and len(names) < self.quota.keys and request.data is None:
            return None
        # Measure on the server: the index may name keys since expired or deleted.
        sizes = self._sizes(prefix, names | {key})
        held = {name for name in names if name in sizes}
        if creates and key not in sizes and len(held) >= self.quota.keys:
            return Refusal(
                f"you may hold at most {self.quota.keys} keys on the shared server. "
                "Delete some (delete <key>), or press “Delete my keys”."
            )
        if request.data is not None:
            total = sum(sizes.values())
            after = total + len(request.data)
            if not _appends(request):
                after -= sizes.get(key, 0)
            if after > self.quota.bytes:
                return Refusal(
                    f"your keys may hold {self.quota.bytes:,} bytes of values in all, and "
                    f"this would make {after:,} bytes. Delete some keys first."
                )
        return None

    def _sizes(self, prefix: Prefix, names: set[bytes]) -> dict[bytes, int]:
        ordered = sorted(names)
        measured = self.server.sizes([prefix.key(n) for n in ordered])
        sizes = {n: measured[prefix.key(n)] for n in ordered if prefix.key(n) in measured}
        return sizes

    # -- emulated ----------------------------------------------------------
    def _stats(self, prefix: Prefix, names: set[bytes]) -> Outcome:
        sizes = self._sizes(prefix, names)
        gone = [n for n in names if n not in sizes]
        if gone:
            self.ledger.record(prefix, removed=gone)
        lines = [
            ("curr_items", len(sizes)),
            ("bytes", sum(sizes.values())),
            ("limit_items", self.quota.keys),
            ("limit_maxbytes", self.quota.bytes),
        ]
        raw = b"".join(f"STAT {name} {value}\r\n".encode() for name, value in lines) + b"END\r\n"
        return Outcome(
            reply=raw.decode(),
            raw=raw,
            note=(
                "Your own keys, counted by the console: bytes is the size of your values "
                "(the server's own bytes also counts each item's overhead). The server's "
                "stats cover every learner, so the console does not show them."
            ),
        )

    # -- the learner's keys ------------------------------------------------------
    def keys(self, prefix: Prefix) -> list[tuple[str, int]]:
        """The learner's keys that still exist, with their value sizes."""
        names = self.ledger.names(prefix)
        sizes = self._sizes(prefix, names)
        return sorted((n.decode("utf-8", errors="replace"), s) for n, s in sizes.items())

    def reset(self, prefix: Prefix) -> int:
        """Delete every key the learner wrote; how many existed."""
        names = sorted(self.ledger.names(prefix))
        existing = self._sizes(prefix, set(names))
        self.server.delete([prefix.key(n) for n in names])
        self.ledger.forget(prefix)
        return len(existing)
