"""The knobs of lab environments, passed into the provider as plain values.

`config/settings.py` reads them from the environment (LAB_* variables);
`service.py` turns Django's settings into a `LabSettings`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# A cluster node's bus listens on port + 10000, so the bus range must stay
# below 65536 and clear of the kernel's ephemeral range too. 20000-20999 puts
# nodes on 20000-20999 and buses on 30000-30999, both under Linux's default
# ephemeral floor of 32768.
DEFAULT_PORT_RANGE = (20000, 20999)
BUS_OFFSET = 10000


def default_runtime_dir() -> str:
    return str(Path(tempfile.gettempdir()) / f"cachelab-labs-{os.getuid()}")


def parse_port_range(text: str) -> tuple[int, int]:
    """'20000-20999' → (20000, 20999), with a message a deployer can act on."""
    try:
        low, high = (int(part) for part in text.split("-"))
    except ValueError:
        message = f"LAB_PORT_RANGE={text!r}: expected FIRST-LAST, e.g. 20000-20999"
        raise ValueError(message) from None
    if not 1024 <= low <= high <= 65535 - BUS_OFFSET:
        raise ValueError(
            f"LAB_PORT_RANGE={text!r}: ports must lie in 1024-{65535 - BUS_OFFSET} "
            f"(each cluster node also needs its bus port, port + {BUS_OFFSET})"
        )
    return low, high


def ephemeral_range() -> tuple[int, int] | None:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    except (OSError, ValueError):
        return None
    return int(low), int(high)


def port_range_problem(ports: tuple[int, int]) -> str | None:
    """Why a port range would collide with the kernel's outgoing ports, if it would."""
    ephemeral = ephemeral_range()
    if ephemeral is None:
        return None
    low, high = ports
    for name, (first, last) in (
        ("node ports", (low, high)),
        ("cluster bus ports", (low + BUS_OFFSET, high + BUS_OFFSET)),
    ):
        if first <= ephemeral[1] and last >= ephemeral[0]:
            return (
                f"LAB_PORT_RANGE {low}-{high}: its {name} {first}-{last} overlap the kernel's "
                f"ephemeral range {ephemeral[0]}-{ephemeral[1]} (outgoing connections take "
                "ports from it, so a node could find its port taken). Pick a range whose ports "
                f"and ports + {BUS_OFFSET} lie outside it."
            )
    return None


@dataclass(frozen=True)
class LabSettings:
    port_range: tuple[int, int] = DEFAULT_PORT_RANGE
    runtime_dir: str = field(default_factory=default_runtime_dir)
    binary: str | None = None  # None: config.embedded's choice (CACHELAB_REDIS_SERVER)
    maxmemory: str = "16mb"
    # ElastiCache's default policy (FACTS.md, Evictions), fixed for every node.
    maxmemory_policy: str = "volatile-lru"
    node_timeout_ms: int = 1000  # cluster-node-timeout, and Sentinel's down-after
    # Measured (bench_envs.py, 2 cores): an idle environment takes ~1.6 % of a core and
    # ~23 MB (PSS) empty, up to ~120 MB with every node at maxmemory; starting one takes
    # ~2.1 s of mostly one core. Six keep idle labs under 10 % of a core and full ones
    # under 1 GB, leaving the site its CPU when several start or fail over at once.
    max_environments: int = 6
    idle_timeout: float = 20 * 60
    max_lifetime: float = 2 * 60 * 60
    start_timeout: float = 30.0
    # A queued learner who stops asking (closed the tab) leaves the queue after this.
    queue_ttl: float = 60.0
