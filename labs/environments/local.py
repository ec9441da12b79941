"""The local-process provider: each environment is a set of server processes on this host.

- `cluster`: 3 shards of a primary and a replica, joined with CLUSTER
  ADDSLOTSRANGE / MEET / REPLICATE from the control connection, a real
  cluster bus, and a short cluster-node-timeout so a failover takes seconds.
- `replication-group`: a primary and two replicas watched by three Sentinels
  (quorum 2) that fail over automatically; the primary endpoint is whatever
  the Sentinels name, the reader endpoint spreads reads over the replicas.

Everything lives in `<runtime dir>/<env id>/`: config files, logs, snapshots
and `env.json` (which site process owns it, and every node's pid), so a site
that crashed leaves enough behind for `orphans.clean_orphans` to tidy up.

This module is the `Provider`: it starts and stops, breaks and heals. The
nodes are launched and joined up by `build.py`, read through `topology.py`,
and every failure is handed to the watcher in `watch.py`.
"""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

import redis
from redis.sentinel import Sentinel

from config.embedded import find_server_binary

from . import nodes as proc
from . import topology
from .build import Builder
from .orphans import clean_orphans
from .provider import (
    ENV_ID,
    KINDS,
    MANUAL_STAGES,
    TIMELINE_STAGES,
    Environment,
    FailoverInProgress,
    Kind,
    LabError,
    Node,
    NodeState,
    StartFailed,
    Timeline,
    Topology,
    UnknownKind,
    new_env_id,
)
from .settings import LabSettings, port_range_problem
from .watch import Watches

CONTROL_USER = "cachelab-control"


class LocalProvider:
    """Starts environments as child processes of this site process.

    Thread-safe; environments started by another site process on the same
    host (found through the registry) can be operated on too.
    """

    def __init__(self, settings: LabSettings) -> None:
        problem = port_range_problem(settings.port_range)
        if problem:
            raise ValueError(problem)
        self.settings = settings
        self.binary = find_server_binary(settings.binary)
        self.ports = proc.PortAllocator(settings.port_range)
        self.runtime = Path(settings.runtime_dir)
        self.runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.builder = Builder(settings, self.ports)
        self.watches = Watches()
        # Whatever a crashed site process left in the runtime dir goes first.
        self.cleaned = clean_orphans(self.runtime)

    # --- connections ------------------------------------------------------------------

    def client(self, env: Environment, node: Node, timeout: float = 1.0) -> redis.Redis:
        """The site's control connection to one node (or, for a sentinel, to it)."""
        return topology.client(env, node, timeout)

    def sentinel(self, env: Environment) -> Sentinel:
        """A Sentinel client, as an application resolving the endpoints would use."""
        return topology.sentinel(env)

    def primary_endpoint(self, env: Environment) -> redis.Redis:
        """Follows the primary through failovers, like the group's primary endpoint."""
        return self.sentinel(env).master_for(Environment.MASTER_NAME)

    def reader_endpoint(self, env: Environment) -> redis.Redis:
        """Spreads connections over the replicas, like the group's reader endpoint."""
        return self.sentinel(env).slave_for(Environment.MASTER_NAME)

    # --- start and stop ---------------------------------------------------------------

    def start(self, kind: Kind, owner: str, env_id: str | None = None) -> Environment:
        if kind not in KINDS:
            raise UnknownKind(
                f"There is no environment kind {kind!r}: choose one of {', '.join(KINDS)}."
            )
        env_id = env_id or new_env_id()
        if not ENV_ID.fullmatch(env_id):  # it names a folder: nothing else may pass
            raise ValueError(f"not an environment id: {env_id!r}")
        folder = self.runtime / env_id
        folder.mkdir(mode=0o700)
        env = Environment(
            id=env_id,
            kind=kind,
            owner=owner,
            folder=str(folder),
            binary=self.binary,
            control_user=CONTROL_USER,
            control_password=secrets.token_hex(24),
            learner_password=secrets.token_hex(24),
            nodes=[],
        )
        self.builder.save(env)
        try:
            if kind == "cluster":
                self.builder.cluster(env)
            else:
                self.builder.group(env)
        except BaseException as error:
            self.stop(env)
            if isinstance(error, OSError | redis.RedisError):  # TimeoutError is an OSError
                raise StartFailed(
                    f"The {kind} did not start ({error}). Nothing was left running; try again."
                ) from error
            raise
        return env

    def stop(self, env: Environment) -> None:
        """Kill every process of the environment and remove its folder. Idempotent."""
        self.watches.stopped(env)
        members = [*env.nodes, *env.sentinels]
        proc.kill((n.pid, n.pid_ticks) for n in members)
        # A node launched but not yet recorded still runs in the folder: find it there.
        if Path(env.folder).exists():
            proc.kill((pid, proc.start_ticks(pid)) for pid in proc.processes_under(env.folder))
        for node in members:
            self.ports.release(node.port)
        shutil.rmtree(env.folder, ignore_errors=True)

    def cluster_healthy(self, env: Environment) -> bool:
        """Every node runs, says cluster_state:ok, sees no failure; replicas are in sync."""
        return topology.cluster_healthy(env)

    # --- reading state (in topology.py) -----------------------------------------------

    def running(self, node: Node) -> bool:
        return topology.running(node)

    def sentinel_views(self, env: Environment) -> list[topology.SentinelView]:
        """What each reachable Sentinel says: (its primary's state, its replicas' states)."""
        return topology.sentinel_views(env)

    def group_primary(self, env: Environment) -> Node | None:
        """The node a majority of Sentinels name as primary (before they run, the first)."""
        return topology.group_primary(env)

    def status(self, env: Environment) -> Topology:
        topology_now = topology.status(env)
        if self.watches.running(env) is not None:
            topology_now.state = "failing-over"
        return topology_now

    # --- breaking and healing ---------------------------------------------------------

    def watch(self, env: Environment) -> Timeline | None:
        """The latest failure or failover watched on this environment, if any."""
        return self.watches.latest(env)

    def fail_node(self, env: Environment, node_name: str) -> Timeline:
        """Kill the node's process (SIGKILL: a lost node or AZ) and time the recovery."""
        node = env.node(node_name)
        if not topology.running(node):
            raise NodeState(f"Node {node.name} is already down; restore it first.")
        was_primary = topology.role(env, node) == "master"
        node_id = None
        if env.kind == "cluster":
            with topology.client(env, node) as client:
                node_id = client.execute_command("CLUSTER", "MYID")
        stages = TIMELINE_STAGES if was_primary else TIMELINE_STAGES[:3]
        if env.kind != "cluster" and not was_primary:
            stages = TIMELINE_STAGES[:2]  # Sentinel never "agrees" a replica is down
        timeline = Timeline(node=node.name, shard=node.shard, stages=stages)
        self.watches.claim(env, timeline)
        timeline.started = time.monotonic()
        proc.kill([(node.pid, node.pid_ticks)])
        timeline.mark("node lost")
        self.watches.start(env, timeline, node, node_id, manual=False)
        return timeline

    def test_failover(self, env: Environment, shard: str) -> Timeline:
        """A planned failover of one shard: its replica takes over, nothing is lost."""
        members = env.shard_nodes(shard)
        timeline = Timeline(node="", shard=shard, stages=MANUAL_STAGES)
        if env.kind == "cluster":
            replica = next(
                (n for n in members if topology.running(n) and topology.role(env, n) == "slave"),
                None,
            )
            if replica is None:
                raise NodeState(f"Shard {shard} has no running replica to promote.")
            timeline.node = replica.name
            self.watches.claim(env, timeline)
            timeline.started = time.monotonic()
            try:
                with topology.client(env, replica) as client:
                    client.execute_command("CLUSTER", "FAILOVER")
            except redis.RedisError as error:
                timeline.finish("refused")
                raise NodeState(f"The failover was refused: {error}") from error
        else:
            primary = topology.group_primary(env)
            timeline.node = primary.name if primary else ""
            self.watches.claim(env, timeline)
            timeline.started = time.monotonic()
            refusal = self._sentinel_failover(env)
            if refusal:
                timeline.finish("refused")
                raise NodeState(f"The failover was refused: {refusal}")
        timeline.mark("failover requested")
        # The group's watch waits for the primary to move away from the old one.
        victim = None if env.kind == "cluster" or not timeline.node else env.node(timeline.node)
        self.watches.start(env, timeline, victim, None, manual=True)
        return timeline

    def _sentinel_failover(self, env: Environment) -> str | None:
        """Ask each Sentinel in turn (one may not yet trust a replica that just rejoined)."""
        refusal = "no Sentinel of this replication group is running"
        for sentinel in env.sentinels:
            if not topology.running(sentinel):
                continue
            try:
                with topology.client(env, sentinel) as client:
                    client.execute_command("SENTINEL", "FAILOVER", Environment.MASTER_NAME)
            except redis.RedisError as error:
                refusal = str(error)
                continue
            return None
        return refusal

    def restore_node(self, env: Environment, node_name: str) -> None:
        """Start a failed node again on its port; it rejoins as a replica."""
        node = env.node(node_name)
        if topology.running(node):
            raise NodeState(f"Node {node.name} is running; only a failed node can be restored.")
        watch = self.watches.running(env)
        if watch is not None:
            raise FailoverInProgress(
                f"A failover is in progress on this environment (node {watch.node}); "
                "wait for it to finish before restoring a node."
            )
        proc.launcher.reap(node.pid or 0)
        replica_of = None
        if env.kind != "cluster":
            # It must come back as a replica of the primary the Sentinels agree on: back
            # as an empty primary, it could win them over and take the data with it.
            primary = topology.group_primary(env)
            if primary is None or primary is node or not topology.running(primary):
                raise NodeState(
                    "The Sentinels have not agreed on a new primary yet; "
                    "try again in a few seconds."
                )
            replica_of = primary.address
        self.builder.spawn(env, node, replica_of)
        proc.wait_until(
            lambda: topology.answers(env, node) or not topology.running(node),
            self.settings.start_timeout,
            f"node {node.name} did not answer after its restart",
        )
        if not topology.running(node):
            raise NodeState(f"Node {node.name} could not start again (see {node.name}.log).")
        if topology.shard_has_other_primary(env, node):
            proc.wait_until(
                lambda: topology.synced_replica(env, node),
                self.settings.start_timeout,
                f"node {node.name} did not rejoin as a replica in time",
            )
        if env.kind == "cluster":
            # Back means the others have cleared its failure flag too.
            proc.wait_until(
                lambda: topology.seen_healthy(env, node),
                self.settings.start_timeout,
                f"the cluster did not see node {node.name} as healthy again in time",
            )


__all__ = ["CONTROL_USER", "LabError", "LocalProvider"]
