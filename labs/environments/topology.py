"""Reading an environment's state from its nodes and Sentinels, never changing it.

- the site's control connection to a node, and a Sentinel client as an
  application would use one;
- who is primary: a node's ROLE, or the primary a majority of Sentinels name;
- `status()`: the `Topology` a learner sees (roles, health, slots, figures,
  endpoints), from CLUSTER NODES for a cluster and from the Sentinels for a
  replication group;
- the checks that starting and restoring a node wait on (healthy cluster,
  replicas in sync, Sentinels that know each other).

Plain functions of the `Environment` they are given: no state of their own,
so the provider and the failover watcher share them without knowing each other.
"""

from __future__ import annotations

from collections import Counter

import redis
from redis.sentinel import Sentinel

from . import nodes as proc
from .provider import Environment, Health, Node, NodeStatus, Topology
from .replies import info_fields, parse_cluster_nodes

SENTINELS = 3  # per replication group; a primary is the one a majority of them names

SentinelView = tuple[dict, list[dict]]  # one Sentinel's (primary state, replica states)

# --- connections ----------------------------------------------------------------------


def client(env: Environment, node: Node, timeout: float = 1.0) -> redis.Redis:
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


def sentinel(env: Environment) -> Sentinel:
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


# --- one node -------------------------------------------------------------------------


def running(node: Node) -> bool:
    return proc.alive(node.pid, node.pid_ticks)


def answers(env: Environment, node: Node) -> bool:
    try:
        with client(env, node, timeout=0.5) as connection:
            return bool(connection.ping())
    except redis.RedisError:
        return False


def role(env: Environment, node: Node) -> str | None:
    """ "master" or "slave" as the node says (ROLE); None if it does not answer."""
    try:
        with client(env, node) as connection:
            return connection.execute_command("ROLE")[0]
    except redis.RedisError:
        return None


def node_figures(env: Environment, node: Node) -> dict:
    with client(env, node) as connection:
        pipe = connection.pipeline(transaction=False)
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


# --- who is primary -------------------------------------------------------------------


def sentinel_views(env: Environment) -> list[SentinelView]:
    """What each reachable Sentinel says: (its primary's state, its replicas' states)."""
    views = []
    for node in env.sentinels:
        if not running(node):
            continue
        try:
            with client(env, node, timeout=0.5) as connection:
                master = connection.sentinel_master(Environment.MASTER_NAME)
                replicas = connection.sentinel_slaves(Environment.MASTER_NAME)
        except redis.RedisError:
            continue
        views.append((master, replicas))
    return views


def agreed_primary_port(views: list[SentinelView]) -> int | None:
    """The primary a majority of the Sentinels name (a failover spreads over seconds)."""
    ports = Counter(int(master["port"]) for master, _replicas in views)
    if not ports:
        return None
    port, votes = ports.most_common(1)[0]
    return port if votes * 2 > SENTINELS else None


def group_primary(env: Environment) -> Node | None:
    """The node a majority of Sentinels name as primary (before they run, the first)."""
    if not env.sentinels:
        return env.nodes[0]
    port = agreed_primary_port(sentinel_views(env))
    return next((n for n in env.nodes if n.port == port), None)


# --- what start and restore wait for --------------------------------------------------


def cluster_healthy(env: Environment) -> bool:
    """Every node runs, says cluster_state:ok, sees no failure; replicas are in sync."""
    try:
        for node in env.nodes:
            with client(env, node) as connection:
                info = info_fields(connection.execute_command("CLUSTER", "INFO"))
                if info.get("cluster_state") != "ok":
                    return False
                lines = parse_cluster_nodes(connection.execute_command("CLUSTER", "NODES"))
                if len(lines) != len(env.nodes) or any(
                    line.health != "ok" or "handshake" in line.flags for line in lines
                ):
                    return False
                replication = connection.info("replication")
                if replication["role"] == "slave" and (
                    replication.get("master_link_status") != "up"
                ):
                    return False
    except redis.RedisError:
        return False
    return True


def replicas_in_sync(env: Environment) -> bool:
    try:
        primary = group_primary(env)
        for node in env.nodes:
            if node is primary:
                continue
            with client(env, node) as connection:
                if connection.info("replication").get("master_link_status") != "up":
                    return False
    except redis.RedisError:
        return False
    return True


def sentinels_ready(env: Environment) -> bool:
    """Each Sentinel knows the others and every replica: a failover can now be agreed."""
    try:
        for node in env.sentinels:
            with client(env, node) as connection:
                state = connection.sentinel_master(Environment.MASTER_NAME)
                if state["num-other-sentinels"] < SENTINELS - 1:
                    return False
                if state["num-slaves"] < len(env.nodes) - 1:
                    return False
    except redis.RedisError:
        return False
    return True


def seen_healthy(env: Environment, node: Node) -> bool:
    """Every running peer has cleared the node's failure flag."""
    for peer in env.nodes:
        if not running(peer):
            continue
        try:
            with client(env, peer) as connection:
                lines = parse_cluster_nodes(connection.execute_command("CLUSTER", "NODES"))
        except redis.RedisError:
            return False
        if any(line.port == node.port and line.health != "ok" for line in lines):
            return False
    return True


def shard_has_other_primary(env: Environment, node: Node) -> bool:
    return any(
        peer is not node and running(peer) and role(env, peer) == "master"
        for peer in env.nodes
        if peer.shard == node.shard
    )


def synced_replica(env: Environment, node: Node) -> bool:
    try:
        with client(env, node) as connection:
            replication = connection.info("replication")
    except redis.RedisError:
        return False
    return replication["role"] == "slave" and replication.get("master_link_status") == "up"


# --- the topology a learner sees ------------------------------------------------------


def status(env: Environment) -> Topology:
    """The environment as its servers describe it (the provider adds a running watch)."""
    return _cluster_status(env) if env.kind == "cluster" else _group_status(env)


def _cluster_status(env: Environment) -> Topology:
    by_port = {n.port: n for n in env.nodes}
    health: dict[str, Health] = {n.name: "ok" for n in env.nodes}
    ids: dict[str, str] = {n.name: "" for n in env.nodes}
    seen_role: dict[str, str] = {}
    slots: dict[str, list[tuple[int, int]]] = {n.name: [] for n in env.nodes}
    states, figures = [], {}
    rank = {"ok": 0, "suspected": 1, "failed": 2}
    for node in env.nodes:
        if not running(node):
            continue
        try:
            with client(env, node) as connection:
                lines = parse_cluster_nodes(connection.execute_command("CLUSTER", "NODES"))
                states.append(
                    info_fields(connection.execute_command("CLUSTER", "INFO"))["cluster_state"]
                )
            figures[node.name] = node_figures(env, node)
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


def _group_status(env: Environment) -> Topology:
    views = sentinel_views(env)
    primary_port = agreed_primary_port(views)
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
        if running(node):
            try:
                figures = node_figures(env, node)
            except redis.RedisError:
                figures = {}
        state = flags.get(node.port, {})
        health: Health = "ok"
        if state.get("is_odown") or (state.get("is_sdown") and node.port != primary_port):
            health = "failed"  # a replica has no agreement step: its s_down is final
        elif state.get("is_sdown"):
            health = "suspected"
        node_role = figures.get("role") or ("primary" if node.port == primary_port else "replica")
        nodes.append(
            NodeStatus(
                name=node.name,
                id=node.name,
                address=node.address,
                role=node_role,
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


def _overall(serving: bool, nodes: list[NodeStatus]) -> str:
    if not serving:
        return "down"
    if all(n.running and n.health == "ok" for n in nodes):
        return "ready"
    return "degraded"
