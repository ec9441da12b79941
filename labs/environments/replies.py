"""Parsing what the nodes answer: CLUSTER NODES lines and INFO-style fields.

Pure functions over reply text, so they can be tested without a server; the
readers in `topology.py` and the watcher in `watch.py` call them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from redis.crc import key_slot

from .provider import Health


@dataclass
class ClusterLine:
    """One line of CLUSTER NODES."""

    id: str
    port: int
    flags: set[str]
    master_id: str
    slots: list[tuple[int, int]]

    @property
    def health(self) -> Health:
        if "fail" in self.flags:
            return "failed"
        return "suspected" if "fail?" in self.flags else "ok"


def parse_cluster_nodes(text: str) -> list[ClusterLine]:
    lines = []
    for raw in text.splitlines():
        parts = raw.split()
        if len(parts) < 8:
            continue
        address = parts[1].split("@")[0].split(",")[0]
        slots = []
        for item in parts[8:]:
            if item.startswith("["):  # a slot being migrated or imported
                continue
            first, _, last = item.partition("-")
            slots.append((int(first), int(last or first)))
        port = int(address.rsplit(":", 1)[1])
        lines.append(ClusterLine(parts[0], port, set(parts[2].split(",")), parts[3], slots))
    return lines


def info_fields(text: str) -> dict[str, str]:
    """`key:value` lines (CLUSTER INFO) as a dict; other lines are skipped."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def probe_key(slots: list[tuple[int, int]]) -> str:
    """A key that hashes into one of these slots, for the first-write probe."""
    for number in itertools.count():
        key = f"cachelab:probe:{number}"
        slot = key_slot(key.encode())
        if any(first <= slot <= last for first, last in slots):
            return key
    raise AssertionError("unreachable")
