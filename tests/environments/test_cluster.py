"""A real cluster-mode-enabled environment: 3 shards of a primary and a replica.

One environment is shared by the module; every test starts from a healthy
cluster (the fixture heals what the previous test broke) with no keys.
"""

from __future__ import annotations

import socket
import time

import pytest
import redis
from redis.crc import key_slot

from labs.environments.provider import FailoverInProgress, NodeState, UnknownKind, UnknownNode
from labs.environments.replies import parse_cluster_nodes
from tests.environments.conftest import as_control, as_learner, poll

pytestmark = pytest.mark.redis

# Measured here (bench_envs.py): a killed primary's replica takes writes after
# about 2.0-2.8 s with cluster-node-timeout 1000; the bound leaves room for a
# busy machine.
RECOVERY_BOUND = 6.0


@pytest.fixture(scope="module")
def env(provider):
    env = provider.start("cluster", "learner-a")
    yield env
    provider.stop(env)


@pytest.fixture
def cluster(provider, env):
    for node in env.nodes:
        if not provider.running(node):
            poll(lambda: not provider.watch(env) or not provider.watch(env).running, 35, "watch")
            provider.restore_node(env, node.name)
    poll(lambda: provider.cluster_healthy(env), 30, "the cluster was not healthy again")
    for node in env.nodes:
        with as_control(provider, env, node.name) as client:
            if client.execute_command("ROLE")[0] == "master":
                client.flushall()
    return env


def primary_of(provider, env, shard: str) -> str:
    status = provider.status(env)
    return next(n.name for n in status.nodes if n.shard == shard and n.role == "primary")


def seed(provider, env, node: str, count: int = 50, replicas: int = 1) -> list[str]:
    """Keys written to one shard's primary (hash tags pick its slots), synced to its replica."""
    with as_control(provider, env, node) as client:
        slots = parse_cluster_nodes(client.execute_command("CLUSTER", "NODES"))
        mine = next(line for line in slots if "myself" in line.flags).slots
        keys, tag = [], 0
        while len(keys) < count:
            key = f"{{t{tag}}}:k"
            tag += 1
            if any(a <= client.execute_command("CLUSTER", "KEYSLOT", key) <= b for a, b in mine):
                client.set(key, "v")
                keys.append(key)
        assert client.execute_command("WAIT", replicas, 2000) == replicas
    return keys


def test_a_cluster_reaches_cluster_state_ok_with_three_shards_covering_every_slot(
    provider, cluster
):
    status = provider.status(cluster)
    assert status.state == "ready" and status.cluster_state == "ok"
    primaries = [n for n in status.nodes if n.role == "primary"]
    assert sorted(n.shard for n in primaries) == ["0001", "0002", "0003"]
    assert sorted(r for n in primaries for r in n.slots) == [
        (0, 5460),
        (5461, 10921),
        (10922, 16383),
    ]
    replicas = [n for n in status.nodes if n.role == "replica"]
    assert sorted(n.shard for n in replicas) == ["0001", "0002", "0003"]
    assert all(n.health == "ok" and n.running and len(n.id) == 40 for n in status.nodes)
    for node in cluster.nodes:
        with as_control(provider, cluster, node.name) as client:
            assert "cluster_state:ok" in client.execute_command("CLUSTER", "INFO")


def test_status_reports_keys_memory_and_replication_offsets(provider, cluster):
    seed(provider, cluster, primary_of(provider, cluster, "0002"), count=20)
    nodes = {n.name: n for n in provider.status(cluster).nodes}
    shard2 = [n for n in nodes.values() if n.shard == "0002"]
    assert [n.keys for n in shard2] == [20, 20]
    assert all(n.memory > 100_000 for n in nodes.values())
    assert shard2[0].replication_offset > 0
    assert shard2[0].replication_offset == shard2[1].replication_offset  # WAIT synced them


def test_nodes_refuse_a_client_without_the_password(provider, cluster):
    with socket.create_connection(("127.0.0.1", cluster.nodes[0].port), timeout=2) as sock:
        sock.sendall(b"PING\r\nCLUSTER NODES\r\n")
        reply = b""
        while reply.count(b"\r\n") < 2:
            reply += sock.recv(1024)
    assert reply.startswith(b"-NOAUTH") and b"myself" not in reply


def test_nodes_listen_on_loopback_only_with_small_memory_and_no_persistence(provider, cluster):
    with as_control(provider, cluster, "0001-001") as client:
        config = client.config_get("*")
    assert config["bind"] == "127.0.0.1"
    assert config["maxmemory"] == str(16 * 1024 * 1024)
    assert config["maxmemory-policy"] == "volatile-lru"
    assert config["save"] == "" and config["appendonly"] == "no"
    assert config["dir"] == cluster.folder
    assert config["cluster-node-timeout"] == "1000"


@pytest.mark.parametrize(
    "command",
    [
        ("ACL", "SETUSER", "cachelab-control", "off"),
        ("ACL", "DELUSER", "cachelab-control"),
        ("CONFIG", "SET", "maxmemory", "1gb"),
        ("CONFIG", "SET", "dir", "/tmp"),
        ("CLUSTER", "MEET", "127.0.0.1", "6379"),
        ("REPLICAOF", "127.0.0.1", "6379"),
        ("MIGRATE", "127.0.0.1", "6379", "k", "0", "1000"),
        ("FAILOVER", "TO", "127.0.0.1", "6379"),
        ("SHUTDOWN", "NOSAVE"),
        ("MONITOR",),
        ("CLIENT", "KILL", "USER", "cachelab-control"),
    ],
)
def test_the_learner_user_is_refused_what_would_reach_outside_or_take_control(
    provider, cluster, command
):
    learner = as_learner(cluster, "0001-001")
    with learner, pytest.raises(redis.exceptions.NoPermissionError):
        learner.execute_command(*command)
    with as_control(provider, cluster, "0001-001") as client:  # the site still owns it
        assert client.execute_command("ACL", "WHOAMI") == "cachelab-control"
        assert client.config_get("maxmemory")["maxmemory"] == str(16 * 1024 * 1024)


def test_the_learner_user_can_run_what_cluster_labs_need(cluster):
    with as_learner(cluster, "0001-001") as learner:
        assert "cluster_state:ok" in learner.execute_command("CLUSTER", "INFO")
        assert learner.execute_command("CLUSTER", "KEYSLOT", "user:1001") == key_slot(b"user:1001")
        assert learner.execute_command("ROLE")[0] == "master"
        assert learner.info("replication")["role"] == "master"
        assert learner.execute_command("ACL", "WHOAMI") == "default"


def test_not_even_the_control_user_can_move_protected_config_or_load_code(provider, cluster):
    with as_control(provider, cluster, "0001-001") as client:
        for command in (
            ("CONFIG", "SET", "dir", "/tmp"),
            ("DEBUG", "SLEEP", "0"),
            ("MODULE", "LOAD", "/tmp/nothing.so"),
        ):
            with pytest.raises(redis.ResponseError):
                client.execute_command(*command)
        assert client.config_get("dir")["dir"] == cluster.folder


def test_killing_a_primary_promotes_its_replica_and_the_cluster_is_ok_within_the_bound(
    provider, cluster
):
    victim = primary_of(provider, cluster, "0002")
    keys = seed(provider, cluster, victim)
    timeline = provider.fail_node(cluster, victim)
    killed = time.monotonic()
    assert timeline.wait(RECOVERY_BOUND + 5)
    stages = [stage for stage, _ms in timeline.events]
    assert stages == [
        "node lost",
        "suspected",
        "agreed",
        "replica promoted",
        "first write accepted",
    ]
    ms = [ms for _stage, ms in timeline.events]
    assert ms == sorted(ms) and ms[-1] < RECOVERY_BOUND * 1000
    survivors = [n for n in cluster.nodes if n.name != victim]

    def ok_everywhere() -> bool:
        for node in survivors:
            with as_control(provider, cluster, node.name) as client:
                if "cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                    return False
        return True

    poll(ok_everywhere, RECOVERY_BOUND - (time.monotonic() - killed), "cluster_state:ok again")
    status = {n.name: n for n in provider.status(cluster).nodes}
    assert status[victim].health == "failed" and not status[victim].running
    promoted = status[timeline.new_primary]
    assert promoted.shard == "0002" and promoted.role == "primary"
    assert promoted.slots == [(5461, 10921)] and promoted.keys == len(keys)


def test_a_restored_node_rejoins_as_a_replica_of_the_new_primary(provider, cluster):
    victim = primary_of(provider, cluster, "0001")
    timeline = provider.fail_node(cluster, victim)
    assert timeline.wait(20) and timeline.outcome == "done"
    keys = seed(provider, cluster, timeline.new_primary, count=10, replicas=0)
    provider.restore_node(cluster, victim)
    status = {n.name: n for n in provider.status(cluster).nodes}
    assert status[victim].role == "replica" and status[victim].health == "ok"
    assert status[victim].running and status[timeline.new_primary].role == "primary"
    poll(lambda: provider.status(cluster).state == "ready", 10, "the environment was not ready")
    with as_control(provider, cluster, victim) as client:
        poll(lambda: client.dbsize() == len(keys), 10, "the restored replica did not sync")


def test_a_planned_failover_swaps_a_shards_roles_and_loses_no_key(provider, cluster):
    before = primary_of(provider, cluster, "0003")
    keys = seed(provider, cluster, before)
    timeline = provider.test_failover(cluster, "0003")
    assert timeline.wait(20) and timeline.outcome == "done"
    assert [stage for stage, _ms in timeline.events] == [
        "failover requested",
        "replica promoted",
        "first write accepted",
    ]
    after = timeline.new_primary
    assert after != before

    def settled() -> bool:  # the old primary hears of its demotion by gossip
        shard = [n for n in provider.status(cluster).nodes if n.shard == "0003"]
        return [n.name for n in shard if n.role == "primary"] == [after]

    poll(settled, 5, "the old primary did not step down")
    with as_control(provider, cluster, after) as client:
        assert client.dbsize() == len(keys)


def test_it_refuses_an_unknown_node_or_shard_and_changes_nothing(provider, cluster):
    with pytest.raises(UnknownNode, match=r"no node '0009-001'.*0001-001"):
        provider.fail_node(cluster, "0009-001")
    with pytest.raises(UnknownNode, match="no shard '7'"):
        provider.test_failover(cluster, "7")
    assert all(provider.running(n) for n in cluster.nodes)
    assert provider.status(cluster).state == "ready"


def test_it_refuses_to_restore_a_running_node(provider, cluster):
    with pytest.raises(NodeState, match="is running"):
        provider.restore_node(cluster, "0001-002")


def test_it_refuses_a_second_failure_while_a_failover_is_in_progress(provider, cluster):
    victim = primary_of(provider, cluster, "0001")
    timeline = provider.fail_node(cluster, victim)
    with pytest.raises(FailoverInProgress, match="wait for it to finish"):
        provider.fail_node(cluster, primary_of(provider, cluster, "0003"))
    with pytest.raises(NodeState, match="already down"):
        provider.fail_node(cluster, victim)
    assert provider.status(cluster).state == "failing-over"
    assert sum(not provider.running(n) for n in cluster.nodes) == 1
    assert timeline.wait(20)


def test_it_refuses_an_unknown_kind(provider):
    with pytest.raises(UnknownKind, match="choose one of cluster, replication-group"):
        provider.start("memcached", "learner-a")
