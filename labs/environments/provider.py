"""What a lab environment is, and the interface every provider implements.

Plain Python (no Django): a provider is built from a `LabSettings` and can be
tested alone. The local-process provider (`local.py`) is the one
implementation; one that runs nodes as containers on a scheduler would
implement the same `Provider` protocol and return the same `Environment`,
`Topology` and `Timeline` values.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

Kind = Literal["cluster", "replication-group"]
KINDS: tuple[Kind, ...] = ("cluster", "replication-group")
ENV_ID = re.compile(r"[0-9a-f]{12}")


def new_env_id() -> str:
    return secrets.token_hex(6)


Health = Literal["ok", "suspected", "failed"]
Role = Literal["primary", "replica"]


class LabError(Exception):
    """A refusal a learner can read: `message` says what happened and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownKind(LabError):
    pass


class UnknownNode(LabError):
    pass


class NodeState(LabError):
    """The node is not in a state the action needs (already failed, already running)."""


class FailoverInProgress(LabError):
    pass


class StartFailed(LabError):
    pass


@dataclass
class Node:
    """One server process of an environment, as the provider started it.

    `name` is stable for the node's life, like an ElastiCache node id
    (shard 0002, node 001 is "0002-001"); its role changes with failovers,
    its shard does not.
    """

    name: str
    shard: str
    port: int
    bus_port: int | None = None
    pid: int | None = None
    pid_ticks: int | None = None  # the process's start time, so a reused pid is not it
    sentinel: bool = False

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Environment:
    """Everything needed to reach and control an environment, from any app instance."""

    id: str
    kind: Kind
    owner: str
    folder: str
    binary: str
    control_user: str
    control_password: str
    learner_password: str
    nodes: list[Node]
    sentinels: list[Node] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)

    MASTER_NAME = "primary"  # the name Sentinel monitors the replication group by

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes)
        raise UnknownNode(f"There is no node {name!r} in this environment. Its nodes: {known}.")

    def shard_nodes(self, shard: str) -> list[Node]:
        found = [n for n in self.nodes if n.shard == shard]
        if not found:
            known = ", ".join(sorted({n.shard for n in self.nodes}))
            raise UnknownNode(
                f"There is no shard {shard!r} in this environment. Its shards: {known}."
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Environment:
        data = dict(data)
        data["nodes"] = [Node(**n) for n in data["nodes"]]
        data["sentinels"] = [Node(**n) for n in data.get("sentinels", [])]
        return cls(**data)


@dataclass
class NodeStatus:
    name: str
    id: str  # the server's own id (CLUSTER MYID), or the name outside cluster mode
    address: str
    role: Role | None  # None when the node cannot be asked (its process is down)
    shard: str
    health: Health
    running: bool
    slots: list[tuple[int, int]] = field(default_factory=list)
    keys: int | None = None
    memory: int | None = None  # used_memory, bytes
    replication_offset: int | None = None


@dataclass
class Topology:
    kind: Kind
    state: str  # "ready", "degraded" (some node not ok), "failing-over", "down"
    nodes: list[NodeStatus]
    endpoints: dict[str, Any]
    cluster_state: str | None = None  # CLUSTER INFO's cluster_state, cluster mode only

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for node in data["nodes"]:
            node["slots"] = [list(r) for r in node["slots"]]
        return data


TIMELINE_STAGES = ("node lost", "suspected", "agreed", "replica promoted", "first write accepted")
MANUAL_STAGES = ("failover requested", "replica promoted", "first write accepted")


@dataclass
class Timeline:
    """A failure as the servers saw it: each stage's time in ms after the first.

    Filled in by a watcher thread polling the servers; `wait()` blocks until
    the last expected stage is seen or the watch gives up.
    """

    node: str
    shard: str
    stages: tuple[str, ...]
    started: float = field(default_factory=time.monotonic)
    events: list[tuple[str, int]] = field(default_factory=list)
    outcome: str = "watching"  # "done", "timed out"
    new_primary: str | None = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def mark(self, stage: str) -> None:
        if stage not in self.seen:
            self.events.append((stage, round((time.monotonic() - self.started) * 1000)))

    @property
    def seen(self) -> set[str]:
        return {stage for stage, _ in self.events}

    def at(self, stage: str) -> int | None:
        return next((ms for name, ms in self.events if name == stage), None)

    def finish(self, outcome: str) -> None:
        self.outcome = outcome
        self._done.set()

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "shard": self.shard,
            "outcome": self.outcome,
            "new_primary": self.new_primary,
            "events": [{"stage": stage, "ms": ms} for stage, ms in self.events],
        }


class Provider(Protocol):
    """Starts, breaks, heals and describes environments."""

    def start(self, kind: Kind, owner: str, env_id: str | None = None) -> Environment:
        """Start an environment and wait until it serves (env_id: the registry's reservation)."""
        ...

    def stop(self, env: Environment) -> None: ...

    def fail_node(self, env: Environment, node: str) -> Timeline: ...

    def restore_node(self, env: Environment, node: str) -> None: ...

    def test_failover(self, env: Environment, shard: str) -> Timeline: ...

    def status(self, env: Environment) -> Topology: ...
