"""Reach: one fresh connection per request, fenced by `mn`.

After the learner's command the console sends `mn` (meta no-op), whose reply
`MN` comes only after everything the command caused: so a `noreply` or quiet
(`q`) command that sends nothing, or an error the server sends early, can
never be mistaken for the next request's reply, and the connection is closed
afterwards anyway. Replies are read record by record (protocol.py), with a
bound on their size.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from memcache.console.protocol import Record, announced_size

FENCE = b"mn\r\n"
LINE_MAX = 8192


class MemcachedUnavailable(Exception):
    """The server did not answer (or answered something that is not memcached)."""


class ReplyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    timeout: float = 1.0
    reply_bytes: int = 1 << 20

    def exchange(self, payload: bytes, fences: int = 1) -> list[Record]:
        """Send `payload` then `mn`; the records before the `fences`-th MN.

        `fences` is 2 when the learner's own command is `mn`.
        """
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(payload + FENCE)
                with sock.makefile("rb") as reader:
                    return self._read(reader, fences)
        except (OSError, ValueError) as exc:
            raise MemcachedUnavailable(str(exc)) from exc

    def _read(self, reader, fences: int) -> list[Record]:
        records: list[Record] = []
        seen = total = 0
        while True:
            line = reader.readline(LINE_MAX)
            if not line.endswith(b"\r\n"):
                raise MemcachedUnavailable("the connection ended mid-reply")
            header = line[:-2]
            total += len(line)
            if header == b"MN":
                seen += 1
                if seen == fences:
                    return records
                records.append((header, None))
                continue
            size = announced_size(header)
            data = None
            if size is not None:
                total += size + 2
                if total > self.reply_bytes:
                    raise ReplyTooLarge
                block = reader.read(size + 2)
                if len(block) != size + 2 or not block.endswith(b"\r\n"):
                    raise MemcachedUnavailable("the connection ended mid-value")
                data = block[:-2]
            if total > self.reply_bytes:
                raise ReplyTooLarge
            records.append((header, data))

    def version(self) -> str:
        records = self.exchange(b"version\r\n")
        return records[0][0].decode().removeprefix("VERSION ") if records else ""

    def sizes(self, keys: list[bytes]) -> dict[bytes, int]:
        """The value size of each key that exists, in one round trip (`mg <key> s`)."""
        if not keys:
            return {}
        records = self.exchange(b"".join(b"mg " + key + b" s\r\n" for key in keys))
        found: dict[bytes, int] = {}
        for key, (header, _) in zip(keys, records, strict=False):
            parts = header.split(b" ")
            if parts[0] == b"HD":
                size = next((p[1:] for p in parts[1:] if p.startswith(b"s")), b"0")
                found[key] = int(size)
        return found

    def delete(self, keys: list[bytes]) -> None:
        if keys:
            self.exchange(b"".join(b"md " + key + b" q\r\n" for key in keys))


def item_size_max(server: Server) -> int | None:
    """The server's item size limit (`stats settings`), read by the site, never a learner."""
    for header, _ in server.exchange(b"stats settings\r\n"):
        parts = header.split(b" ")
        if len(parts) == 3 and parts[1] == b"item_size_max":
            return int(parts[2])
    return None
