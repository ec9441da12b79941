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
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.crc import key_slot
from redis.sentinel import Sentinel

from config.embedded import find_server_binary

from . import nodes as proc
from .orphans import clean_orphans
from .provider import (
    ENV_ID,
    KINDS,
    MANUAL_STAGES,
    TIMELINE_STAGES,
    Environment,
    FailoverInProgress,
    Health,
    Kind,
    LabError,
    Node,
    NodeState,
    NodeStatus,
    StartFailed,
    Timeline,
    Topology,
    UnknownKind,
    new_env_id,
)
from .settings import LabSettings, port_range_problem

CONTROL_USER = "cachelab-control"
SLOTS = 16384
SHARDS, REPLICAS_PER_SHARD, GROUP_REPLICAS, SENTINELS = 3, 1, 2, 3
WATCH_TIMEOUT = 30.0  # a failover that has not finished by then is reported as timed out


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


def _info_fields(text: str) -> dict[str, str]:
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
        self._lock = threading.Lock()
        self._watches: dict[str, Timeline] = {}
        self._stopped: set[str] = set()
        # Whatever a crashed site process left in the runtime dir goes first.
        self.cleaned = clean_orphans(self.runtime)

    # --- connections ------------------------------------------------------------------

    def client(self, env: Environment, node: Node, timeout: float = 1.0) -> redis.Redis:
        """The site's control connection to one node (or, for a sentinel, to it)."""
        return redis.Redis(
            host="127.0.0.1",
            port=node.port,
            username=None if node.sentinel else env.control_user,
            password=env.control_password,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            decode_responses=True,
        )

    def sentinel(self, env: Environment) -> Sentinel:
        """A Sentinel client, as an application resolving the endpoints would use."""
        return Sentinel(
            [("127.0.0.1", s.port) for s in env.sentinels],
            sentinel_kwargs={"password": env.control_password, "socket_timeout": 1.0},
            username=env.control_user,
            password=env.control_password,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            decode_responses=True,
        )

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
        self._save(env)
        try:
            if kind == "cluster":
                self._start_cluster(env)
            else:
                self._start_group(env)
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
        self._stopped.add(env.id)
        members = [*env.nodes, *env.sentinels]
        proc.kill((n.pid, n.pid_ticks) for n in members)
        # A node launched but not yet recorded still runs in the folder: find it there.
        if Path(env.folder).exists():
            proc.kill((pid, proc.start_ticks(pid)) for pid in proc.processes_under(env.folder))
        for node in members:
            self.ports.release(node.port)
        shutil.rmtree(env.folder, ignore_errors=True)

    def _save(self, env: Environment) -> None:
        """Record the environment in its folder for orphan cleanup after a crash."""
        path = Path(env.folder) / "env.json"
        site = {"pid": os.getpid(), "ticks": proc.start_ticks(os.getpid()), "boot": proc.boot_id()}
        if path.exists():  # the creating process stays the owner on record
            site = json.loads(path.read_text())["site"]
        temporary = path.with_suffix(".tmp")
        proc.write_private(temporary, json.dumps({"site": site, "env": env.to_dict()}))
        os.replace(temporary, path)

    def _spawn(self, env: Environment, node: Node, replica_of: str | None = None) -> None:
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
        self._save(env)

    def _answers(self, env: Environment, node: Node) -> bool:
        try:
            with self.client(env, node, timeout=0.5) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def _start_nodes(
        self, env: Environment, members: list[Node], replica_of: Callable[[Node], str | None]
    ) -> None:
        """Launch all, then wait for each; a node beaten to its port moves to another."""
        for node in members:
            self._spawn(env, node, replica_of(node))
        for node in members:
            for _attempt in range(3):
                proc.wait_until(
                    lambda n=node: self._answers(env, n) or not proc.alive(n.pid, n.pid_ticks),
                    self.settings.start_timeout,
                    f"node {node.name} did not answer",
                )
                if proc.alive(node.pid, node.pid_ticks):
                    break
                proc.launcher.reap(node.pid)
                self.ports.release(node.port)
                node.port, node.bus_port = self.ports.take(bus=node.bus_port is not None)
                self._spawn(env, node, replica_of(node))
            else:
                raise OSError(f"node {node.name} exited at start (see {node.name}.log)")

    def _start_cluster(self, env: Environment) -> None:
        for shard in range(1, SHARDS + 1):
            for number in range(1, REPLICAS_PER_SHARD + 2):
                port, bus = self.ports.take(bus=True)
                env.nodes.append(Node(f"{shard:04d}-{number:03d}", f"{shard:04d}", port, bus))
        self._start_nodes(env, env.nodes, lambda node: None)
        bounds = [SLOTS * i // SHARDS for i in range(SHARDS + 1)]
        clients = {n.name: self.client(env, n, timeout=2.0) for n in env.nodes}
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
            lambda: self.cluster_healthy(env),
            self.settings.start_timeout,
            "the cluster did not reach cluster_state:ok",
        )

    def cluster_healthy(self, env: Environment) -> bool:
        """Every node runs, says cluster_state:ok, sees no failure; replicas are in sync."""
        try:
            for node in env.nodes:
                with self.client(env, node) as client:
                    info = _info_fields(client.execute_command("CLUSTER", "INFO"))
                    if info.get("cluster_state") != "ok":
                        return False
                    lines = parse_cluster_nodes(client.execute_command("CLUSTER", "NODES"))
                    if len(lines) != len(env.nodes) or any(
                        line.health != "ok" or "handshake" in line.flags for line in lines
                    ):
                        return False
                    replication = client.info("replication")
                    if replication["role"] == "slave" and (
                        replication.get("master_link_status") != "up"
                    ):
                        return False
        except redis.RedisError:
            return False
        return True

    def _start_group(self, env: Environment) -> None:
        for number in range(1, GROUP_REPLICAS + 2):
            port, _bus = self.ports.take(bus=False)
            env.nodes.append(Node(f"0001-{number:03d}", "0001", port))
        primary = env.nodes[0]
        self._start_nodes(env, env.nodes, lambda node: None if node is primary else primary.address)
        proc.wait_until(
            lambda: self._replicas_in_sync(env),
            self.settings.start_timeout,
            "the replicas did not sync with the primary",
        )
        # Sentinels start once the replicas are connected, so their first INFO finds them.
        for number in range(1, SENTINELS + 1):
            port, _bus = self.ports.take(bus=False)
            env.sentinels.append(Node(f"sentinel-{number}", "", port, sentinel=True))
        self._start_nodes(env, env.sentinels, lambda node: None)
        proc.wait_until(
            lambda: self._sentinels_ready(env),
            self.settings.start_timeout,
            "the Sentinels did not find each other and the replicas",
        )

    def _replicas_in_sync(self, env: Environment) -> bool:
        try:
            primary = self.group_primary(env)
            for node in env.nodes:
                if node is primary:
                    continue
                with self.client(env, node) as client:
                    if client.info("replication").get("master_link_status") != "up":
                        return False
        except redis.RedisError:
            return False
        return True

    def _sentinels_ready(self, env: Environment) -> bool:
        """Each Sentinel knows the others and every replica: a failover can now be agreed."""
        try:
            for sentinel in env.sentinels:
                with self.client(env, sentinel) as client:
                    state = client.sentinel_master(Environment.MASTER_NAME)
                    if state["num-other-sentinels"] < SENTINELS - 1:
                        return False
                    if state["num-slaves"] < len(env.nodes) - 1:
                        return False
        except redis.RedisError:
            return False
        return True

    # --- reading state ----------------------------------------------------------------

    def running(self, node: Node) -> bool:
        return proc.alive(node.pid, node.pid_ticks)

    def sentinel_views(self, env: Environment) -> list[tuple[dict, list[dict]]]:
        """What each reachable Sentinel says: (its primary's state, its replicas' states)."""
        views = []
        for sentinel in env.sentinels:
            if not self.running(sentinel):
                continue
            try:
                with self.client(env, sentinel, timeout=0.5) as client:
                    master = client.sentinel_master(Environment.MASTER_NAME)
                    replicas = client.sentinel_slaves(Environment.MASTER_NAME)
            except redis.RedisError:
                continue
            views.append((master, replicas))
        return views

    def _agreed_primary_port(self, views: list[tuple[dict, list[dict]]]) -> int | None:
        """The primary a majority of the Sentinels name (a failover spreads over seconds)."""
        ports = Counter(int(master["port"]) for master, _replicas in views)
        if not ports:
            return None
        port, votes = ports.most_common(1)[0]
        return port if votes * 2 > SENTINELS else None

    def group_primary(self, env: Environment) -> Node | None:
        """The node a majority of Sentinels name as primary (before they run, the first)."""
        if not env.sentinels:
            return env.nodes[0]
        port = self._agreed_primary_port(self.sentinel_views(env))
        return next((n for n in env.nodes if n.port == port), None)

    def _role(self, env: Environment, node: Node) -> str | None:
        try:
            with self.client(env, node) as client:
                return client.execute_command("ROLE")[0]
        except redis.RedisError:
            return None

    def _node_figures(self, env: Environment, node: Node) -> dict:
        with self.client(env, node) as client:
            pipe = client.pipeline(transaction=False)
            pipe.dbsize().info("memory").info("replication")
            keys, memory, replication = pipe.execute()
        offset = replication.get("master_repl_offset")
        if replication["role"] == "slave":
            offset = replication.get("slave_repl_offset", offset)
        return {
            "keys": keys,
            "memory": memory["used_memory"],
            "replication_offset": offset,
            "role": "primary" if replication["role"] == "master" else "replica",
        }

    def status(self, env: Environment) -> Topology:
        topology = self._cluster_status(env) if env.kind == "cluster" else self._group_status(env)
        watch = self._watches.get(env.id)
        if watch is not None and watch.running:
            topology.state = "failing-over"
        return topology

    def _cluster_status(self, env: Environment) -> Topology:
        by_port = {n.port: n for n in env.nodes}
        health: dict[str, Health] = {n.name: "ok" for n in env.nodes}
        ids: dict[str, str] = {n.name: "" for n in env.nodes}
        seen_role: dict[str, str] = {}
        slots: dict[str, list[tuple[int, int]]] = {n.name: [] for n in env.nodes}
        states, figures = [], {}
        rank = {"ok": 0, "suspected": 1, "failed": 2}
        for node in env.nodes:
            if not self.running(node):
                continue
            try:
                with self.client(env, node) as client:
                    lines = parse_cluster_nodes(client.execute_command("CLUSTER", "NODES"))
                    states.append(
                        _info_fields(client.execute_command("CLUSTER", "INFO"))["cluster_state"]
                    )
                figures[node.name] = self._node_figures(env, node)
            except redis.RedisError:
                continue
            for line in lines:
                member = by_port.get(line.port)
                if member is None:
                    continue
                ids[member.name] = line.id
                if rank[line.health] > rank[health[member.name]]:
                    health[member.name] = line.health
                # A node's own line is the truth about itself; others' is the last word heard.
                if "myself" in line.flags or member.name not in seen_role:
                    seen_role[member.name] = "primary" if "master" in line.flags else "replica"
                if "myself" in line.flags or not slots[member.name]:
                    slots[member.name] = line.slots
        nodes = [
            NodeStatus(
                name=n.name,
                id=ids[n.name],
                address=n.address,
                role=seen_role.get(n.name),  # type: ignore[arg-type]
                shard=n.shard,
                health=health[n.name],
                running=n.name in figures,
                slots=slots[n.name] if seen_role.get(n.name) == "primary" else [],
                keys=figures.get(n.name, {}).get("keys"),
                memory=figures.get(n.name, {}).get("memory"),
                replication_offset=figures.get(n.name, {}).get("replication_offset"),
            )
            for n in env.nodes
        ]
        cluster_state = "ok" if states and all(s == "ok" for s in states) else "fail"
        first = next((n for n in nodes if n.running), None)
        return Topology(
            kind=env.kind,
            state=_overall(cluster_state == "ok", nodes),
            nodes=nodes,
            endpoints={"configuration": first.address if first else None},
            cluster_state=cluster_state,
        )

    def _group_status(self, env: Environment) -> Topology:
        views = self.sentinel_views(env)
        primary_port = self._agreed_primary_port(views)
        # Each node's flags as the most worried Sentinel sees them.
        flags: dict[int, dict] = {}
        for master, replicas in views:
            for state in (master, *replicas):
                seen = flags.setdefault(int(state["port"]), {})
                for flag in ("is_sdown", "is_odown"):
                    seen[flag] = seen.get(flag) or state.get(flag)
        nodes = []
        for node in env.nodes:
            figures = {}
            if self.running(node):
                try:
                    figures = self._node_figures(env, node)
                except redis.RedisError:
                    figures = {}
            state = flags.get(node.port, {})
            health: Health = "ok"
            if state.get("is_odown") or (state.get("is_sdown") and node.port != primary_port):
                health = "failed"  # a replica has no agreement step: its s_down is final
            elif state.get("is_sdown"):
                health = "suspected"
            role = figures.get("role") or ("primary" if node.port == primary_port else "replica")
            nodes.append(
                NodeStatus(
                    name=node.name,
                    id=node.name,
                    address=node.address,
                    role=role,
                    shard=node.shard,
                    health=health,
                    running=bool(figures),
                    keys=figures.get("keys"),
                    memory=figures.get("memory"),
                    replication_offset=figures.get("replication_offset"),
                )
            )
        readers = [n.address for n in nodes if n.role == "replica" and n.running]
        state = _overall(primary_port is not None, nodes)
        named = next((n for n in nodes if n.address == f"127.0.0.1:{primary_port}"), None)
        if len({int(master["port"]) for master, _replicas in views}) > 1 or (
            named is not None and named.running and named.role != "primary"
        ):
            state = "failing-over"  # the Sentinels are still spreading a new primary's news
        return Topology(
            kind=env.kind,
            state=state,
            nodes=nodes,
            endpoints={
                "primary": f"127.0.0.1:{primary_port}" if primary_port else None,
                "reader": readers,
                "sentinels": [s.address for s in env.sentinels],
            },
        )

    # --- breaking and healing ---------------------------------------------------------

    def _claim_watch(self, env: Environment, timeline: Timeline) -> None:
        with self._lock:
            current = self._watches.get(env.id)
            if current is not None and current.running:
                raise FailoverInProgress(
                    f"A failover is in progress on this environment (node {current.node}); "
                    "wait for it to finish (see the timeline) before the next action."
                )
            self._watches[env.id] = timeline

    def watch(self, env: Environment) -> Timeline | None:
        """The latest failure or failover watched on this environment, if any."""
        return self._watches.get(env.id)

    def fail_node(self, env: Environment, node_name: str) -> Timeline:
        """Kill the node's process (SIGKILL: a lost node or AZ) and time the recovery."""
        node = env.node(node_name)
        if not self.running(node):
            raise NodeState(f"Node {node.name} is already down; restore it first.")
        was_primary = self._role(env, node) == "master"
        node_id = None
        if env.kind == "cluster":
            with self.client(env, node) as client:
                node_id = client.execute_command("CLUSTER", "MYID")
        stages = TIMELINE_STAGES if was_primary else TIMELINE_STAGES[:3]
        if env.kind != "cluster" and not was_primary:
            stages = TIMELINE_STAGES[:2]  # Sentinel never "agrees" a replica is down
        timeline = Timeline(node=node.name, shard=node.shard, stages=stages)
        self._claim_watch(env, timeline)
        timeline.started = time.monotonic()
        proc.kill([(node.pid, node.pid_ticks)])
        timeline.mark("node lost")
        self._watch(env, timeline, node, node_id, manual=False)
        return timeline

    def test_failover(self, env: Environment, shard: str) -> Timeline:
        """A planned failover of one shard: its replica takes over, nothing is lost."""
        members = env.shard_nodes(shard)
        timeline = Timeline(node="", shard=shard, stages=MANUAL_STAGES)
        if env.kind == "cluster":
            replica = next(
                (n for n in members if self.running(n) and self._role(env, n) == "slave"), None
            )
            if replica is None:
                raise NodeState(f"Shard {shard} has no running replica to promote.")
            timeline.node = replica.name
            self._claim_watch(env, timeline)
            timeline.started = time.monotonic()
            try:
                with self.client(env, replica) as client:
                    client.execute_command("CLUSTER", "FAILOVER")
            except redis.RedisError as error:
                timeline.finish("refused")
                raise NodeState(f"The failover was refused: {error}") from error
        else:
            primary = self.group_primary(env)
            timeline.node = primary.name if primary else ""
            self._claim_watch(env, timeline)
            timeline.started = time.monotonic()
            refusal = self._sentinel_failover(env)
            if refusal:
                timeline.finish("refused")
                raise NodeState(f"The failover was refused: {refusal}")
        timeline.mark("failover requested")
        # The group's watch waits for the primary to move away from the old one.
        victim = None if env.kind == "cluster" or not timeline.node else env.node(timeline.node)
        self._watch(env, timeline, victim, None, manual=True)
        return timeline

    def _sentinel_failover(self, env: Environment) -> str | None:
        """Ask each Sentinel in turn (one may not yet trust a replica that just rejoined)."""
        refusal = "no Sentinel of this replication group is running"
        for sentinel in env.sentinels:
            if not self.running(sentinel):
                continue
            try:
                with self.client(env, sentinel) as client:
                    client.execute_command("SENTINEL", "FAILOVER", Environment.MASTER_NAME)
            except redis.RedisError as error:
                refusal = str(error)
                continue
            return None
        return refusal

    def restore_node(self, env: Environment, node_name: str) -> None:
        """Start a failed node again on its port; it rejoins as a replica."""
        node = env.node(node_name)
        if self.running(node):
            raise NodeState(f"Node {node.name} is running; only a failed node can be restored.")
        watch = self._watches.get(env.id)
        if watch is not None and watch.running:
            raise FailoverInProgress(
                f"A failover is in progress on this environment (node {watch.node}); "
                "wait for it to finish before restoring a node."
            )
        proc.launcher.reap(node.pid or 0)
        replica_of = None
        if env.kind != "cluster":
            # It must come back as a replica of the primary the Sentinels agree on: back
            # as an empty primary, it could win them over and take the data with it.
            primary = self.group_primary(env)
            if primary is None or primary is node or not self.running(primary):
                raise NodeState(
                    "The Sentinels have not agreed on a new primary yet; "
                    "try again in a few seconds."
                )
            replica_of = primary.address
        self._spawn(env, node, replica_of)
        proc.wait_until(
            lambda: self._answers(env, node) or not self.running(node),
            self.settings.start_timeout,
            f"node {node.name} did not answer after its restart",
        )
        if not self.running(node):
            raise NodeState(f"Node {node.name} could not start again (see {node.name}.log).")
        if self._shard_has_other_primary(env, node):
            proc.wait_until(
                lambda: self._synced_replica(env, node),
                self.settings.start_timeout,
                f"node {node.name} did not rejoin as a replica in time",
            )
        if env.kind == "cluster":
            # Back means the others have cleared its failure flag too.
            proc.wait_until(
                lambda: self._seen_healthy(env, node),
                self.settings.start_timeout,
                f"the cluster did not see node {node.name} as healthy again in time",
            )

    def _seen_healthy(self, env: Environment, node: Node) -> bool:
        for peer in env.nodes:
            if not self.running(peer):
                continue
            try:
                with self.client(env, peer) as client:
                    lines = parse_cluster_nodes(client.execute_command("CLUSTER", "NODES"))
            except redis.RedisError:
                return False
            if any(line.port == node.port and line.health != "ok" for line in lines):
                return False
        return True

    def _shard_has_other_primary(self, env: Environment, node: Node) -> bool:
        return any(
            peer is not node and self.running(peer) and self._role(env, peer) == "master"
            for peer in env.nodes
            if peer.shard == node.shard
        )

    def _synced_replica(self, env: Environment, node: Node) -> bool:
        try:
            with self.client(env, node) as client:
                replication = client.info("replication")
        except redis.RedisError:
            return False
        return replication["role"] == "slave" and replication.get("master_link_status") == "up"

    # --- the failover watch -----------------------------------------------------------

    def _watch(
        self, env: Environment, timeline: Timeline, victim: Node | None, victim_id, *, manual: bool
    ) -> None:
        target = self._watch_cluster if env.kind == "cluster" else self._watch_group
        thread = threading.Thread(
            target=self._run_watch,
            args=(target, env, timeline, victim, victim_id, manual),
            name=f"lab-watch-{env.id}",
            daemon=True,
        )
        thread.start()

    def _run_watch(self, target, env, timeline, victim, victim_id, manual) -> None:
        deadline = time.monotonic() + WATCH_TIMEOUT
        try:
            while time.monotonic() < deadline and env.id not in self._stopped:
                if target(env, timeline, victim, victim_id, manual):
                    timeline.finish("done")
                    return
                time.sleep(proc.POLL)
            timeline.finish("timed out" if env.id not in self._stopped else "stopped")
        except Exception:  # a watch must always end, whatever a server said
            timeline.finish("error")
            raise

    def _write_accepted(self, env: Environment, node: Node, slots) -> bool:
        key = probe_key(slots) if slots else "cachelab:probe"
        try:
            with self.client(env, node) as client:
                client.set(key, "1", px=1000)
                client.delete(key)
        except redis.RedisError:
            return False
        return True

    def _watch_cluster(self, env, timeline: Timeline, victim, victim_id, manual) -> bool:
        """One poll of the survivors; True once the last stage has been seen."""
        shard = timeline.shard
        promoted = None
        for peer in env.nodes:
            if peer is victim or not self.running(peer):
                continue
            try:
                with self.client(env, peer, timeout=0.5) as client:
                    lines = parse_cluster_nodes(client.execute_command("CLUSTER", "NODES"))
            except redis.RedisError:
                continue
            for line in lines:
                if victim_id and line.id == victim_id:
                    if line.health == "suspected":
                        timeline.mark("suspected")
                    elif line.health == "failed":
                        timeline.mark("suspected")  # seen agreed before suspected: same poll
                        timeline.mark("agreed")
                # A failure promotes any survivor of the shard; a planned failover, the replica.
                eligible = peer.name == timeline.node if manual else peer.shard == shard
                if "myself" in line.flags and "master" in line.flags and eligible and line.slots:
                    promoted = (peer, line.slots)
        if "agreed" not in timeline.seen and not manual and "agreed" in timeline.stages:
            return False
        if timeline.stages[-1] == "agreed":
            return True
        if promoted is None:
            return False
        timeline.mark("replica promoted")
        timeline.new_primary = promoted[0].name
        if self._write_accepted(env, promoted[0], promoted[1]):
            timeline.mark("first write accepted")
            return True
        return False

    def _watch_group(self, env, timeline: Timeline, victim, victim_id, manual) -> bool:
        views = self.sentinel_views(env)
        if victim is not None and not manual:
            for master, replicas in views:
                states = [master, *replicas]
                state = next((x for x in states if int(x["port"]) == victim.port), {})
                if state.get("is_sdown"):
                    timeline.mark("suspected")
                if state.get("is_odown"):
                    timeline.mark("agreed")
        if timeline.stages[-1] == "suspected":
            return "suspected" in timeline.seen
        # Promoted once a majority of Sentinels name another node, and it says it is primary.
        port = self._agreed_primary_port(views)
        new = next((n for n in env.nodes if n.port == port), None)
        if new is None or new is victim or self._role(env, new) != "master":
            return False
        timeline.mark("replica promoted")
        timeline.new_primary = new.name
        if self._write_accepted(env, new, None):
            timeline.mark("first write accepted")
            return True
        return False


def _overall(serving: bool, nodes: list[NodeStatus]) -> str:
    if not serving:
        return "down"
    if all(n.running and n.health == "ok" for n in nodes):
        return "ready"
    return "degraded"


__all__ = ["CONTROL_USER", "LabError", "LocalProvider", "parse_cluster_nodes"]
