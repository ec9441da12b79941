"""A real replication group (cluster mode disabled, Multi-AZ): a primary, two replicas
and three Sentinels that fail over on their own. One group shared by the module."""

from __future__ import annotations

import pytest
import redis

from labs.environments.provider import NodeState
from tests.environments.conftest import as_control, poll

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def env(provider):
    env = provider.start("replication-group", "learner-b")
    yield env
    provider.stop(env)


@pytest.fixture
def group(provider, env):
    watch = provider.watch(env)
    if watch is not None:
        assert watch.wait(35)
    for node in env.nodes:
        if not provider.running(node):
            provider.restore_node(env, node.name)
    poll(lambda: provider.status(env).state == "ready", 30, "the group was not ready again")
    with as_control(provider, env, provider.group_primary(env).name) as client:
        client.flushall()
        assert client.execute_command("WAIT", 2, 2000) == 2
    return env


def roles(provider, env) -> dict[str, str]:
    return {n.name: n.role for n in provider.status(env).nodes}


def test_a_group_has_one_primary_two_replicas_and_sentinels_that_agree(provider, group):
    status = provider.status(group)
    assert status.state == "ready"
    assert sorted(roles(provider, group).values()) == ["primary", "replica", "replica"]
    primary = next(n for n in status.nodes if n.role == "primary")
    assert status.endpoints["primary"] == primary.address
    assert sorted(status.endpoints["reader"]) == sorted(
        n.address for n in status.nodes if n.role == "replica"
    )
    for sentinel in group.sentinels:
        with provider.client(group, sentinel) as client:
            state = client.sentinel_master("primary")
            assert state["num-other-sentinels"] == 2 and state["num-slaves"] == 2
            assert int(state["port"]) == int(primary.address.rsplit(":", 1)[1])


def test_sentinels_refuse_a_client_without_the_password(group):
    anonymous = redis.Redis(port=group.sentinels[0].port, socket_timeout=2, retry=None)
    with anonymous, pytest.raises(redis.AuthenticationError):
        anonymous.execute_command("SENTINEL", "MASTERS")


def test_writes_go_through_the_primary_endpoint_and_reads_come_from_a_replica(provider, group):
    primary, reader = provider.primary_endpoint(group), provider.reader_endpoint(group)
    primary.set("app:1", "hello")
    assert primary.execute_command("WAIT", 2, 2000) == 2
    assert reader.get("app:1") == "hello"
    assert reader.execute_command("ROLE")[0] == "slave"
    with pytest.raises(redis.ReadOnlyError):
        reader.set("app:2", "no")
    primary.close()
    reader.close()


def test_the_primary_endpoint_follows_a_failover_after_the_primary_is_killed(provider, group):
    endpoint = provider.primary_endpoint(group)
    endpoint.set("before", "1")
    assert endpoint.execute_command("WAIT", 2, 2000) == 2
    victim = next(name for name, role in roles(provider, group).items() if role == "primary")
    old_address = group.node(victim).address
    timeline = provider.fail_node(group, victim)
    assert timeline.wait(30) and timeline.outcome == "done"
    assert [stage for stage, _ms in timeline.events] == [
        "node lost",
        "suspected",
        "agreed",
        "replica promoted",
        "first write accepted",
    ]

    def writes() -> bool:  # the same client object, as an application would keep it
        try:
            return bool(endpoint.set("after", "2"))
        except redis.ConnectionError:
            return False

    poll(writes, 10, "the primary endpoint did not take writes after the failover")
    new_address = endpoint.connection_pool.get_master_address()
    assert f"{new_address[0]}:{new_address[1]}" != old_address
    assert endpoint.get("before") == "1"  # synced before the loss, so kept
    status = {n.name: n for n in provider.status(group).nodes}
    assert not status[victim].running
    assert status[timeline.new_primary].role == "primary"
    endpoint.close()


def test_a_restored_primary_comes_back_as_a_replica(provider, group):
    victim = next(name for name, role in roles(provider, group).items() if role == "primary")
    assert provider.fail_node(group, victim).wait(30)
    provider.restore_node(group, victim)
    assert roles(provider, group)[victim] == "replica"
    with as_control(provider, group, victim) as client:
        assert client.info("replication")["master_link_status"] == "up"


def test_it_refuses_to_fail_a_node_that_is_already_down(provider, group):
    replica = next(name for name, role in roles(provider, group).items() if role == "replica")
    timeline = provider.fail_node(group, replica)
    assert timeline.wait(20) and [s for s, _ in timeline.events] == ["node lost", "suspected"]
    with pytest.raises(NodeState, match="already down"):
        provider.fail_node(group, replica)


# Last: the Sentinels take a while to settle after it, and nothing needs them to.
def test_a_sentinel_failover_moves_the_primary_and_loses_no_key(provider, group):
    endpoint = provider.primary_endpoint(group)
    endpoint.mset({f"k{i}": i for i in range(100)})
    assert endpoint.execute_command("WAIT", 2, 2000) == 2
    before = provider.status(group).endpoints["primary"]
    timeline = provider.test_failover(group, "0001")
    assert timeline.wait(30) and timeline.outcome == "done"
    poll(lambda: provider.status(group).endpoints["primary"] != before, 10, "primary moved")
    poll(lambda: _dbsize(endpoint) == 100, 10, "the new primary did not have every key")
    endpoint.close()


def _dbsize(client) -> int | None:
    try:
        return client.dbsize()
    except redis.ConnectionError:
        return None
