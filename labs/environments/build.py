"""Building an environment out of server processes: config files, launch, joining up.

- a cluster: every node launched, slots assigned with ADDSLOTSRANGE, the nodes
  introduced with CLUSTER MEET, each replica set to follow its shard's primary
  once gossip has told it about that primary; done at cluster_state:ok;
- a replication group: the primary and its replicas, then the Sentinels once
  the replicas are in sync, done when every Sentinel knows the others.

A node beaten to its port at launch moves to another one. `env.json` in the
environment's folder is rewritten after every launch, so a crash leaves a
record of every pid for `orphans.py`. Stopping is the provider's job.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from . import nodes as proc
from . import topology
from .provider import Environment, Node
from .replies import parse_cluster_nodes
from .settings import LabSettings
from .topology import SENTINELS

SLOTS = 16384
SHARDS, REPLICAS_PER_SHARD, GROUP_REPLICAS = 3, 1, 2


class Builder:
    """Launches and joins up the nodes of one environment at a time (or one node again)."""

    def __init__(self, settings: LabSettings, ports: proc.PortAllocator) -> None:
        self.settings = settings
        self.ports = ports

    def save(self, env: Environment) -> None:
        """Record the environment in its folder for orphan cleanup after a crash."""
        path = Path(env.folder) / "env.json"
        site = {"pid": os.getpid(), "ticks": proc.start_ticks(os.getpid()), "boot": proc.boot_id()}
        if path.exists():  # the creating process stays the owner on record
            site = json.loads(path.read_text())["site"]
        temporary = path.with_suffix(".tmp")
        proc.write_private(temporary, json.dumps({"site": site, "env": env.to_dict()}))
        os.replace(temporary, path)

    def spawn(self, env: Environment, node: Node, replica_of: str | None = None) -> None:
        """Write the node's config file and launch it (its pid goes on record at once)."""
        conf = Path(env.folder) / f"{node.name}.conf"
        if node.sentinel:
            primary = env.nodes[0].address
            text = proc.sentinel_config(
                port=node.port,
                folder=env.folder,
                name=node.name,
                master_name=Environment.MASTER_NAME,
                master_address=primary,
                control_user=env.control_user,
                control_password=env.control_password,
                down_after_ms=self.settings.node_timeout_ms,
            )
            args = [env.binary, str(conf), "--sentinel"]
        else:
            text = proc.node_config(
                port=node.port,
                folder=env.folder,
                name=node.name,
                control_user=env.control_user,
                control_password=env.control_password,
                learner_password=env.learner_password,
                maxmemory=self.settings.maxmemory,
                maxmemory_policy=self.settings.maxmemory_policy,
                bus_port=node.bus_port,
                node_timeout_ms=self.settings.node_timeout_ms,
                replica_of=replica_of,
            )
            args = [env.binary, str(conf)]
        proc.write_private(conf, text)
        process = proc.launcher.launch(args, cwd=env.folder)
        node.pid, node.pid_ticks = process.pid, proc.start_ticks(process.pid)
        self.save(env)

    def _start_nodes(
        self, env: Environment, members: list[Node], replica_of: Callable[[Node], str | None]
    ) -> None:
        """Launch all, then wait for each; a node beaten to its port moves to another."""
        for node in members:
            self.spawn(env, node, replica_of(node))
        for node in members:
            for _attempt in range(3):
                proc.wait_until(
                    lambda n=node: topology.answers(env, n) or not proc.alive(n.pid, n.pid_ticks),
                    self.settings.start_timeout,
                    f"node {node.name} did not answer",
                )
                if proc.alive(node.pid, node.pid_ticks):
                    break
                proc.launcher.reap(node.pid)
                self.ports.release(node.port)
                node.port, node.bus_port = self.ports.take(bus=node.bus_port is not None)
                self.spawn(env, node, replica_of(node))
            else:
                raise OSError(f"node {node.name} exited at start (see {node.name}.log)")

    def cluster(self, env: Environment) -> None:
        for shard in range(1, SHARDS + 1):
            for number in range(1, REPLICAS_PER_SHARD + 2):
                port, bus = self.ports.take(bus=True)
                env.nodes.append(Node(f"{shard:04d}-{number:03d}", f"{shard:04d}", port, bus))
        self._start_nodes(env, env.nodes, lambda node: None)
        bounds = [SLOTS * i // SHARDS for i in range(SHARDS + 1)]
        clients = {n.name: topology.client(env, n, timeout=2.0) for n in env.nodes}
        try:
            primaries = [n for n in env.nodes if n.name.endswith("-001")]
            for index, primary in enumerate(primaries):
                clients[primary.name].execute_command(
                    "CLUSTER", "ADDSLOTSRANGE", bounds[index], bounds[index + 1] - 1
                )
            first = clients[env.nodes[0].name]
            for node in env.nodes[1:]:
                first.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port, node.bus_port)
            ids = {name: c.execute_command("CLUSTER", "MYID") for name, c in clients.items()}
            for node in env.nodes:
                primary = f"{node.shard}-001"
                if node.name == primary:
                    continue
                # A replica can only follow a primary it has heard of through gossip.
                proc.wait_until(
                    lambda c=clients[node.name], known=ids[primary]: any(
                        line.id == known
                        for line in parse_cluster_nodes(c.execute_command("CLUSTER", "NODES"))
                    ),
                    self.settings.start_timeout,
                    "the cluster nodes did not learn of each other",
                )
                clients[node.name].execute_command("CLUSTER", "REPLICATE", ids[primary])
        finally:
            for client in clients.values():
                client.close()
        proc.wait_until(
            lambda: topology.cluster_healthy(env),
            self.settings.start_timeout,
            "the cluster did not reach cluster_state:ok",
        )

    def group(self, env: Environment) -> None:
        for number in range(1, GROUP_REPLICAS + 2):
            port, _bus = self.ports.take(bus=False)
            env.nodes.append(Node(f"0001-{number:03d}", "0001", port))
        primary = env.nodes[0]
        self._start_nodes(env, env.nodes, lambda node: None if node is primary else primary.address)
        proc.wait_until(
            lambda: topology.replicas_in_sync(env),
            self.settings.start_timeout,
            "the replicas did not sync with the primary",
        )
        # Sentinels start once the replicas are connected, so their first INFO finds them.
        for number in range(1, SENTINELS + 1):
            port, _bus = self.ports.take(bus=False)
            env.sentinels.append(Node(f"sentinel-{number}", "", port, sentinel=True))
        self._start_nodes(env, env.sentinels, lambda node: None)
        proc.wait_until(
            lambda: topology.sentinels_ready(env),
            self.settings.start_timeout,
            "the Sentinels did not find each other and the replicas",
        )
