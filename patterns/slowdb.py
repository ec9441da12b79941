"""The bench's database: a real SQLite file behind an injected delay.

A cache only earns its keep when a miss really costs, so every statement this
layer runs first waits `latency_ms` (the workload's knob), then runs for real
against its own file. The layer counts what it did itself (reads, rows
written, when each read started), so the engine's figures can be checked
against the database's own count rather than against the engine's belief.

One file per run, made and deleted by the run: no two runs share rows, and the
site's own database never sees the bench's load.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    key: int
    version: int
    value: str


def payload(key: int, version: int) -> str:
    """The row's value: what a page would render, about 60 bytes."""
    return f'{{"id": {key}, "name": "product {key}", "price": {100 + version % 900}}}'


class SlowDatabase:
    """Rows `0 .. keys-1`, each with a version that every write raises."""

    def __init__(self, keys: int, latency_ms: float, directory: Path | None = None) -> None:
        self.keys = keys
        self.latency = max(0.0, latency_ms) / 1000
        self._dir = Path(tempfile.mkdtemp(prefix="cachelab-bench-", dir=directory))
        self.path = self._dir / "bench.sqlite3"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self.reads = 0
        self.writes = 0  # rows written
        self.write_statements = 0
        self.read_times: list[float] = []  # time.monotonic() at the start of each read
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE items (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, "
                "value TEXT NOT NULL)"
            )
            db.executemany(
                "INSERT INTO items (id, version, value) VALUES (?, 1, ?)",
                ((k, payload(k, 1)) for k in range(keys)),
            )

    def _connect(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # One connection per thread: sqlite3 connections are not shared.
            connection = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _wait(self) -> None:
        # The injected cost of a round trip to a busy database server.
        if self.latency:
            time.sleep(self.latency)

    def read(self, key: int) -> Row:
        started = time.monotonic()
        with self._lock:
            self.reads += 1
            self.read_times.append(started)
        self._wait()
        found = (
            self._connect()
            .execute("SELECT version, value FROM items WHERE id = ?", (key,))
            .fetchone()
        )
        if found is None:
            raise KeyError(key)
        return Row(key, found[0], found[1])

    def write(self, key: int, version: int) -> None:
        self.write_many([(key, version)])

    def write_many(self, rows: Iterable[tuple[int, int]]) -> int:
        """Write rows in one statement batch (one delay); never lowers a version."""
        rows = [(version, payload(key, version), key, version) for key, version in rows]
        if not rows:
            return 0
        self._wait()
        with self._connect() as db:
            db.executemany(
                "UPDATE items SET version = ?, value = ? WHERE id = ? AND version < ?", rows
            )
        with self._lock:
            self.writes += len(rows)
            self.write_statements += 1
        return len(rows)

    def versions(self) -> dict[int, int]:
        """Every row's version, straight from the file (no delay: for checking)."""
        return dict(self._connect().execute("SELECT id, version FROM items").fetchall())

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        shutil.rmtree(self._dir, ignore_errors=True)
